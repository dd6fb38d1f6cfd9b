"""Opening export files: gzip detected by its magic bytes, UTF-8 checked as read.

Every export reader reads bytes through `open_source`, so a `.json.gz` or an
`.xml.gz` works like the plain file, and a byte that is not UTF-8 stops the
import with its offset (in the decompressed stream) instead of turning into a
replacement character or an opaque parser message.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from .base import ImportFailure

GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"
CHUNK = 256 * 1024


def is_gzip(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(2) == GZIP_MAGIC


class Utf8CheckedReader(io.RawIOBase):
    """Pass bytes through unchanged, failing at the first byte that is not UTF-8."""

    def __init__(self, raw: BinaryIO, path: Path) -> None:
        super().__init__()
        self._raw = raw
        self._path = path
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._offset = 0  # bytes handed out so far
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self._raw.read(len(buffer))
        if data:
            self._check(data, final=False)
        elif not self._eof:
            self._eof = True
            self._check(b"", final=True)
        n = len(data)
        buffer[:n] = data
        self._offset += n
        return n

    def _check(self, data: bytes, final: bool) -> None:
        pending = self._decoder.getstate()[0]
        try:
            self._decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            # exc.start counts from the bytes the decoder still held back.
            offset = self._offset - len(pending) + exc.start
            raise ImportFailure(
                self._path, f"byte offset {offset}", "invalid UTF-8 (the file must be UTF-8)"
            ) from None

    def close(self) -> None:
        self._raw.close()
        super().close()


@contextmanager
def open_source(path: Path) -> Iterator[BinaryIO]:
    """The file's bytes, decompressed when gzipped and checked to be UTF-8."""
    raw: BinaryIO = (
        gzip.open(path, "rb") if is_gzip(path) else path.open("rb")  # noqa: SIM115
    )  # type: ignore[assignment]
    checked = io.BufferedReader(Utf8CheckedReader(raw, path), buffer_size=CHUNK)
    try:
        yield checked  # type: ignore[misc]
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ImportFailure(path, "", f"cannot read the compressed file: {exc}") from None
    finally:
        checked.close()


def read_head(path: Path, size: int) -> bytes:
    """The first `size` bytes of the (decompressed) file, for sniffing."""
    try:
        if is_gzip(path):
            with gzip.open(path, "rb") as stream:
                return stream.read(size)
        with path.open("rb") as stream:
            return stream.read(size)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ImportFailure(path, "", f"cannot read the compressed file: {exc}") from None


def load_json(path: Path) -> Any:
    """A whole JSON document (plain or gzipped), with errors located for the user."""
    with open_source(path) as stream:
        text = stream.read().removeprefix(BOM).decode("utf-8")
    if not text.strip():
        raise ImportFailure(path, "", "the file is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFailure(
            path, f"line {exc.lineno} column {exc.colno}", f"malformed JSON: {exc.msg}"
        ) from None
    except RecursionError:
        raise ImportFailure(path, "", "JSON nested too deeply") from None
