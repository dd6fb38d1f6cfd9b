"""Streaming JSON: ijson's events, and values built from them without recursion.

`json.load` holds the whole document (a few times its size in Python
objects) and recurses once per level of nesting. Here the file is read as a
stream of ijson `basic_parse` events (its C backend, `yajl2_c`, when
installed: `ijson.backend` says which), and a reader builds only the values
it asks for, with `build`: iteratively, so nesting depth costs memory, not
stack, and keeping only the keys the reader reads, so the dozens of fields
an export carries per comment (Reddit's) are never held.

A malformed document is an ImportFailure with its line and column: ijson's
C parser does not say where it stopped, so the file is read again, up to
the point of failure, with ijson's pure-Python parser, which does.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import ijson
from ijson.backends import python as located_parser

from .base import ImportFailure
from .source import BOM, open_source

Event = tuple[str, Any]
SCALARS = frozenset({"string", "number", "boolean", "null"})
# How far into the file the slow, locating parser reads after a failure.
LOCATE_LIMIT = 16 * 1024 * 1024
_AT = re.compile(r" at (\d+)$")


def events(path: Path) -> Iterator[Event]:
    """The file's parse events (plain or gzipped, a BOM allowed)."""
    seen = False
    with open_source(path) as stream:
        _skip_bom(stream)
        try:
            for event in ijson.basic_parse(stream, use_float=True):
                seen = True
                yield event
        except ijson.JSONError as exc:
            reason = str(exc).split("\n", 1)[0]
            if not seen and "premature EOF" in reason:
                raise ImportFailure(path, "", "the file is empty") from None
            raise ImportFailure(path, _locate(path), f"malformed JSON: {reason}") from None


def _skip_bom(stream: BinaryIO) -> None:
    if stream.peek(len(BOM))[: len(BOM)] == BOM:  # type: ignore[attr-defined]
        stream.read(len(BOM))


def _locate(path: Path) -> str:
    """`line L column C` of the first syntax error, or '' past LOCATE_LIMIT."""
    with open_source(path) as stream:
        _skip_bom(stream)
        head = stream.read(LOCATE_LIMIT)
    try:
        for _ in located_parser.basic_parse(io.BytesIO(head)):
            pass
    except ijson.JSONError as exc:
        found = _AT.search(str(exc))
        if found is None:
            return "end of file" if len(head) < LOCATE_LIMIT else ""
        text = head.decode("utf-8", errors="replace")
        at = int(found.group(1))
        line = text.count("\n", 0, at) + 1
        return f"line {line} column {at - text.rfind(chr(10), 0, at)}"
    except Exception:  # noqa: BLE001 (the location is a courtesy; the error stands)
        return ""
    return ""


def skip(stream: Iterator[Event], event: str) -> None:
    """Consume the rest of a value whose first event was `event`."""
    if event in SCALARS:
        return
    depth = 1
    for name, _ in stream:
        if name in ("start_map", "start_array"):
            depth += 1
        elif name in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                return


def build(
    stream: Iterator[Event], event: str, value: Any, keep: frozenset[str] | None = None
) -> Any:
    """The value whose first event was (`event`, `value`), read from `stream`.

    Objects keep only the keys in `keep` (all when None), at every level.
    """
    if event in SCALARS:
        return value
    root: Any = {} if event == "start_map" else []
    stack: list[Any] = [root]
    keys: list[Any] = [None]
    for name, value in stream:
        if name == "map_key":
            if keep is not None and value not in keep:
                skip(stream, next(stream)[0])
            else:
                keys[-1] = value
            continue
        if name in ("end_map", "end_array"):
            stack.pop()
            keys.pop()
            if not stack:
                return root
            continue
        if name == "start_map":
            item: Any = {}
        elif name == "start_array":
            item = []
        else:
            item = value
        top = stack[-1]
        if type(top) is dict:
            top[keys[-1]] = item
        else:
            top.append(item)
        if name in ("start_map", "start_array"):
            stack.append(item)
            keys.append(None)
    raise ImportFailure("", "", "the JSON document ends inside a value")


def drain(stream: Iterator[Event]) -> None:
    """Read to the end, so that text after the document is still an error."""
    for _ in stream:
        pass
