"""Importer registry: one module per source format, chosen by sniffing.

Add a format by writing a module with a `read(path)` generator and a `sniff`
test, then registering both here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

from . import native
from .base import CommentRecord, ImportFailure, InvalidRecord, ThreadRecord

Reader = Callable[[Path], Iterator[ThreadRecord | InvalidRecord]]

READERS: dict[str, Reader] = {
    "json": native.read_json,
    "jsonl": native.read_jsonl,
}

# File endings an `import_threads DIRECTORY` walk picks up.
IMPORTABLE_SUFFIXES = {".json", ".jsonl", ".ndjson"}

SNIFF_BYTES = 64 * 1024


def sniff(path: Path) -> str:
    """Guess the format from the first bytes of the file, not its name."""
    with path.open("rb") as stream:
        head = stream.read(SNIFF_BYTES)
    text = head.removeprefix(native.BOM).decode("utf-8", errors="replace").lstrip()
    if not text:
        raise ImportFailure(path, "", "the file is empty")
    if text.startswith("{"):
        first_line = text.split("\n", 1)[0].strip()
        try:
            first = json.loads(first_line)
        except json.JSONDecodeError:
            first = None
        if isinstance(first, dict) and "threads" not in first:
            return "jsonl"
        return "json"
    raise ImportFailure(
        path, "", f"cannot tell the format; pass --format ({', '.join(sorted(READERS))})"
    )


def read_path(path: Path, fmt: str = "auto") -> Iterator[ThreadRecord | InvalidRecord]:
    name = sniff(path) if fmt == "auto" else fmt
    if name not in READERS:
        raise ImportFailure(path, "", f"unknown format {name!r}")
    return READERS[name](path)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given; directories walked for importable files, sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in IMPORTABLE_SUFFIXES)
            )
        elif path.exists():
            files.append(path)
        else:
            raise ImportFailure(path, "", "no such file or directory")
    return files


__all__ = [
    "READERS",
    "CommentRecord",
    "ImportFailure",
    "InvalidRecord",
    "ThreadRecord",
    "expand_paths",
    "read_path",
    "sniff",
]
