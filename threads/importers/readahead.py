"""Read the next threads in a second process while this one stores the last.

An import alternates two kinds of work: parsing the export (pure Python,
CPU-bound) and storing each thread (queries, the insert, and on PostgreSQL
waiting for the server, which runs on another core). `read_files` runs the
readers of all the files in one forked child process that sends each record
through a pipe as soon as it is parsed, so on a machine with two or more
cores the parsing of the next threads overlaps the storing of the last.

The child only parses: it never touches the database (it inherits the
parent's connections and leaves them alone; it ends with `os._exit`, so
nothing of them is closed or finalised there). Memory stays bounded: the
pipe holds one record at a time, and the child waits while it is full.

What the parent sees is what reading in-process gives: each file's records
in order, then the file's end or its ImportFailure (the child goes on with
the next file, as an import does). A child that dies is an ImportFailure of
the file it was reading, and the files after it are read in-process.
Files whose reader takes in the whole file before its first thread (Disqus,
CSV: WHOLE_FILE_READERS) are read in-process while the child reads on.
Where fork is not safe or not useful (one core, a process that runs other
threads, no fork on the platform, only whole-file readers), the files are
read in-process.
"""

from __future__ import annotations

import contextlib
import pickle
import traceback
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path

from . import READERS, WHOLE_FILE_READERS, format_of, read_path
from .base import ImportFailure, InvalidRecord, ThreadRecord
from .forking import forking_allowed, start_child, stop_child
from .spool import pack_items, unpack_items

Record = ThreadRecord | InvalidRecord

# Message kinds, first byte of each message. _HERE: the parent reads this
# file itself (a whole-file reader) while the child goes on to the next.
_RECORD, _END, _FAILURE, _CRASH, _HERE = b"R", b"E", b"F", b"C", b"H"


def read_files(
    paths: Iterable[Path], fmt: str = "auto"
) -> Iterator[tuple[Path, Iterator[Record]]]:
    """(path, that file's records) for each file, in order.

    Consume (or drop) each file's records before asking for the next file;
    records left unread are skipped. A file that cannot be read raises
    ImportFailure from its records iterator, as `read_path` does.
    """
    paths = list(paths)
    if not _read_ahead_wanted(paths, fmt):
        for path in paths:
            yield path, _read_in_process(path, fmt)
        return
    reader = _Reader(paths, fmt)
    try:
        for path in paths:
            if reader.broken:
                yield path, _read_in_process(path, fmt)
                continue
            records = reader.file_records(path, fmt)
            yield path, records
            records.close()
            reader.skip_rest_of_file()
    finally:
        reader.close()


def _read_in_process(path: Path, fmt: str) -> Iterator[Record]:
    # A generator, so that a file that cannot be read fails when its records
    # are asked for, as it does when read ahead.
    yield from read_path(path, fmt)


def _read_ahead_wanted(paths: list[Path], fmt: str) -> bool:
    return bool(paths) and forking_allowed() and any(_streamed(path, fmt) for path in paths)


def _streamed(path: Path, fmt: str) -> bool:
    try:
        return format_of(path, fmt) not in WHOLE_FILE_READERS
    except ImportFailure:
        return True  # the child reports it, in its turn


class _Reader:
    """The child process and the parent's end of its pipe."""

    def __init__(self, paths: list[Path], fmt: str) -> None:
        self._process, self._receive = start_child(
            _child, (paths, fmt), name="threadkeeper-import-reader"
        )
        self.broken = False
        self._file_done = True

    def file_records(self, path: Path, fmt: str) -> Iterator[Record]:
        # Set now, not when the generator first runs: a file whose records
        # are never asked for must still be skipped.
        self._file_done = False
        return self._records(path, fmt)

    def _records(self, path: Path, fmt: str) -> Iterator[Record]:
        while True:
            kind, payload = self._next(path)
            if kind == _RECORD:
                yield payload
            elif kind == _HERE:
                self._file_done = True
                yield from read_path(path, fmt)
                return
            elif kind == _END:
                self._file_done = True
                return
            elif kind == _FAILURE:
                self._file_done = True
                location, reason = payload
                raise ImportFailure(path, location, reason)
            else:  # _CRASH: a bug in a reader, not a bad file
                self._file_done = True
                self.broken = True
                raise RuntimeError(f"reading {path} failed in the reader process:\n{payload}")

    def skip_rest_of_file(self) -> None:
        """Drop what is left of the current file (its import stopped early)."""
        while not self._file_done and not self.broken:
            kind, _ = self._next(None)
            self._file_done = kind in (_END, _FAILURE, _CRASH, _HERE)

    def _next(self, path: Path | None) -> tuple[bytes, object]:
        try:
            message = self._receive.recv_bytes()
        except (EOFError, OSError):
            self.broken = True
            self._file_done = True
            self._process.join(timeout=5)
            raise ImportFailure(
                path or "",
                "",
                f"the reader process stopped unexpectedly (exit code {self._process.exitcode}); "
                "nothing of this file was stored",
            ) from None
        kind = message[:1]
        if kind != _RECORD:
            return kind, pickle.loads(message[1:]) if len(message) > 1 else None
        record, comments = pickle.loads(message[1:])
        if comments is not None:
            record.comments = unpack_items(comments)
        return kind, record

    def close(self) -> None:
        # The child sends often: it notices our end closing almost at once.
        stop_child(self._process, self._receive, wait=5)


def _child(paths: list[Path], fmt: str, send: Connection) -> None:
    def put(kind: bytes, payload: object = None) -> None:
        body = b"" if payload is None else pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        send.send_bytes(kind + body)

    def put_record(record: Record) -> None:
        # A thread's comments go as marshalled field tuples (the spool's
        # encoding): pickling thousands of dataclasses and aware datetimes
        # would cost the parent more to read than parsing did.
        if isinstance(record, ThreadRecord) and record.comments:
            comments, record.comments = record.comments, []
            put(_RECORD, (record, pack_items(comments)))
        else:
            put(_RECORD, (record, None))

    try:
        for path in paths:
            try:
                name = format_of(path, fmt)
                if name in WHOLE_FILE_READERS:
                    put(_HERE)
                    continue
                for record in READERS[name](path):
                    put_record(record)
            except ImportFailure as exc:
                put(_FAILURE, (exc.location, exc.reason))
            else:
                put(_END)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the parent stopped reading: the import is over
    except BaseException:
        with contextlib.suppress(OSError):
            put(_CRASH, traceback.format_exc())
    finally:
        send.close()
