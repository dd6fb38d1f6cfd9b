"""Importer registry: one module per source format, chosen by sniffing.

Add a format by writing a module with a `read(path)` generator and a `sniff`
test, then registering both here.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import ijson

from . import conversations, csvfile, disqus, native, reddit, wxr
from .base import CommentRecord, ImportFailure, InvalidRecord, ThreadRecord
from .source import read_head
from .validate import validated

Reader = Callable[[Path], Iterator[ThreadRecord | InvalidRecord]]

READERS: dict[str, Reader] = {
    "json": native.read_json,
    "jsonl": native.read_jsonl,
    "disqus": disqus.read,
    "wxr": wxr.read,
    "reddit": reddit.read,
    "csv": csvfile.read,
    "conversations": conversations.read,
}

# File endings an `import_threads DIRECTORY` walk picks up (`.gz`: any of them
# compressed; the content decides the format).
IMPORTABLE_SUFFIXES = {".json", ".jsonl", ".ndjson", ".xml", ".csv", ".gz"}

_DISQUS_ROOT = re.compile(r"<(?:[\w.-]+:)?disqus[\s>/]")
_RSS_ROOT = re.compile(r"<rss[\s>]")
_REDDIT_HEAD = re.compile(r'^\[\s*\{\s*"kind"\s*:\s*"Listing"')
_ARRAY_OF_OBJECTS = re.compile(r"^\[\s*[\[{]")

SNIFF_BYTES = 64 * 1024


def sniff(path: Path) -> str:
    """Guess the format from the first bytes of the file, not its name."""
    head = read_head(path, SNIFF_BYTES)
    text = head.removeprefix(native.BOM).decode("utf-8", errors="replace").lstrip()
    if not text:
        raise ImportFailure(path, "", "the file is empty")
    if text.startswith("["):
        if _REDDIT_HEAD.match(text):
            return "reddit"
        if _ARRAY_OF_OBJECTS.match(text) and '"parent_id"' in text:
            return "conversations"
    if text.startswith("{"):
        return "jsonl" if _is_comment_line(text.split("\n", 1)[0]) else "json"
    if not text.startswith("["):
        if _DISQUS_ROOT.search(text):
            return "disqus"
        if _RSS_ROOT.search(text) and "wordpress.org/export/" in text:
            return "wxr"
        header = {csvfile.normalise(name) for name in text.split("\n", 1)[0].split(",")}
        if {"thread_id", "comment_id"} <= header:
            return "csv"
    raise ImportFailure(
        path, "", f"cannot tell the format; pass --format ({', '.join(sorted(READERS))})"
    )


def _is_comment_line(line: str) -> bool:
    """Whether a first line is a whole JSON object without "threads" (JSONL).

    Read as a stream of events, not json.loads: a line nested hundreds deep
    must not recurse.
    """
    depth = 0
    try:
        for event, value in ijson.basic_parse(io.BytesIO(line.encode("utf-8", "replace"))):
            if event in ("start_map", "start_array"):
                depth += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
            elif event == "map_key" and depth == 1 and value == "threads":
                return False
    except ijson.JSONError:
        return False
    return True


def read_path(path: Path, fmt: str = "auto") -> Iterator[ThreadRecord | InvalidRecord]:
    """The file's records, each checked at the one boundary (validate.py)."""
    return validated(READERS[format_of(path, fmt)](path), path)


def format_of(path: Path, fmt: str = "auto") -> str:
    """The reader's name for the file: `fmt`, or sniffed when "auto"."""
    name = sniff(path) if fmt == "auto" else fmt
    if name not in READERS:
        raise ImportFailure(path, "", f"unknown format {name!r}")
    return name


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given; directories walked for importable files, sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = (p for p in path.rglob("*") if p.is_file() and p.suffix in IMPORTABLE_SUFFIXES)
            files.extend(sorted(found))
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
    "format_of",
    "read_path",
    "sniff",
]
