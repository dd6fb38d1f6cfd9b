"""Opening export files: gzip detected by its magic bytes, UTF-8 checked as read.

Every export reader reads bytes through `open_source`, so a `.json.gz` or an
`.xml.gz` works like the plain file, and a byte that is not UTF-8 stops the
import with its offset (in the decompressed stream) instead of turning into a
replacement character or an opaque parser message.

Gzip is decompressed as a stream, never whole, and stops with an
ImportFailure naming the file past IMPORT_GZIP_MAX_BYTES decompressed bytes
or IMPORT_GZIP_MAX_RATIO times the compressed bytes read so far (the ratio
once the output passes RATIO_FLOOR): a small file that inflates to gigabytes
is refused before it costs the disk, the spool or the time.
"""

from __future__ import annotations

import codecs
import gzip
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from .base import ImportFailure

GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"
CHUNK = 256 * 1024
# Below this much output a gzip member may inflate at any ratio: a small
# file of repeated text is no bomb.
RATIO_FLOOR = 16 * 1024 * 1024


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


class BoundedGzipReader(io.RawIOBase):
    """Decompress a gzip file as it is read, refusing a decompression bomb."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path
        self._file = path.open("rb")  # noqa: SIM115 (closed in close())
        self._gzip = gzip.GzipFile(fileobj=self._file, mode="rb")
        self._out = 0
        self._max_bytes = int(settings.IMPORT_GZIP_MAX_BYTES)
        self._max_ratio = int(settings.IMPORT_GZIP_MAX_RATIO)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = self._gzip.readinto(buffer)
        self._out += n
        if self._out > self._max_bytes:
            raise ImportFailure(
                self._path,
                f"byte offset {self._out}",
                f"refused: decompresses to more than IMPORT_GZIP_MAX_BYTES "
                f"({self._max_bytes:,} bytes)",
            )
        if self._out > RATIO_FLOOR:
            ratio = self._out / max(self._file.tell(), 1)
            if ratio > self._max_ratio:
                raise ImportFailure(
                    self._path,
                    f"byte offset {self._out}",
                    f"refused: decompresses {ratio:,.0f} times its compressed size, over "
                    f"IMPORT_GZIP_MAX_RATIO ({self._max_ratio}); a decompression bomb?",
                )
        return n

    def close(self) -> None:
        self._gzip.close()
        self._file.close()
        super().close()


@contextmanager
def open_source(path: Path) -> Iterator[BinaryIO]:
    """The file's bytes, decompressed when gzipped and checked to be UTF-8."""
    raw: BinaryIO = (
        BoundedGzipReader(path) if is_gzip(path) else path.open("rb")  # noqa: SIM115
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
