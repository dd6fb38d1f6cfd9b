"""Threadkeeper's own formats, documented in docs/import-formats.md.

JSON: `{"threads": [{..., "comments": [{..., "replies": [...]}]}]}`; comments
nest through `replies` or form a flat list that carries `parent_id`. The
document is streamed (jsonstream.py): one thread is built at a time, so
memory is bounded by the largest thread, and nesting of any depth is walked
without recursion.
JSONL: one comment per line with its thread under `"thread"`, read line by line
so that a file of any size streams; consecutive lines of one thread form one
record, cut into several records of one thread past RECORD_CHARS of text (the
later ones find their parents among the comments stored before).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from . import jsonstream
from .base import (
    CommentRecord,
    ImportFailure,
    InvalidRecord,
    ThreadRecord,
    parse_timestamp,
    scalar_text,
)
from .source import BOM, open_source

# The fields read; any others are skipped unread (jsonstream.build).
FIELDS = frozenset({
    "source", "external_id", "title", "url", "author", "published_at", "lead", "comments",
    "parent_id", "body", "created_at", "replies",
})
# A JSONL line longer than this is not a comment.
MAX_LINE = 16 * 1024 * 1024
# Text (bodies) one JSONL record holds before the thread goes on in the next.
RECORD_CHARS = 4 * 1024 * 1024


def decode(data: bytes, path: Path, offset: int = 0) -> str:
    """UTF-8 (a leading BOM is allowed); invalid bytes are named by offset."""
    if offset == 0 and data.startswith(BOM):
        data, offset = data[len(BOM) :], len(BOM)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportFailure(
            path, f"byte offset {offset + exc.start}", "invalid UTF-8 (the file must be UTF-8)"
        ) from None


def read_json(path: Path) -> Iterator[ThreadRecord | InvalidRecord]:
    stream = jsonstream.events(path)
    event, _ = next(stream, ("end", None))
    found = False
    if event == "start_map":
        for event, key in stream:
            if event == "end_map":
                break
            event, _ = next(stream, ("end", None))
            if key != "threads":
                jsonstream.skip(stream, event)
            elif event == "start_array" and not found:
                found = True
                yield from _threads(stream, path)
            else:
                found = False  # not a list, or a second "threads"
                break
    if not found:
        raise ImportFailure(path, "top level", 'expected an object with a "threads" list')
    jsonstream.drain(stream)


def _threads(
    stream: Iterator[jsonstream.Event], path: Path
) -> Iterator[ThreadRecord | InvalidRecord]:
    """The elements of the "threads" array, one built at a time."""
    for index, (event, value) in enumerate(stream):
        if event == "end_array":
            return
        location = f"threads[{index}]"
        data = jsonstream.build(stream, event, value, FIELDS)
        try:
            yield thread_record(data, location, path)
        except ImportFailure as exc:
            yield InvalidRecord(location=exc.location, reason=exc.reason)


def read_jsonl(path: Path) -> Iterator[ThreadRecord | InvalidRecord]:
    with open_source(path) as stream:
        current: ThreadRecord | None = None
        held = 0  # text in `current`
        for line_no, data in _json_lines(stream, path):
            location = f"line {line_no}"
            if isinstance(data, InvalidRecord):
                yield data
                continue
            try:
                thread_data = data.get("thread")
                if not isinstance(thread_data, dict):
                    raise ImportFailure(path, location, 'each line needs a "thread" object')
                key = (
                    _text(thread_data.get("source"), f"{location} thread.source", path)
                    or "native",
                    _required_id(thread_data, "external_id", f"{location} thread", path),
                )
                comment = comment_record(data, None, location, path)
            except ImportFailure as exc:
                yield InvalidRecord(location=exc.location, reason=exc.reason)
                continue
            same_thread = current is not None and (current.source, current.external_id) == key
            if not same_thread or held > RECORD_CHARS:
                if current is not None:
                    yield current
                    current, held = None, 0
                try:
                    current = thread_record({**thread_data, "comments": []}, location, path)
                except ImportFailure as exc:
                    yield InvalidRecord(location=exc.location, reason=exc.reason)
                    continue
            assert current is not None
            current.comments.append(comment)
            held += len(comment.body) + 200
        if current is not None:
            yield current


def _json_lines(stream: BinaryIO, path: Path) -> Iterator[tuple[int, Any]]:
    offset = 0
    seen_any = False
    line_no = 0
    while raw := stream.readline(MAX_LINE + 1):
        line_no += 1
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            raise ImportFailure(
                path, f"line {line_no}", f"a line longer than {MAX_LINE:,} bytes"
            )
        text = decode(raw, path, offset)
        offset += len(raw)
        if not text.strip():
            continue
        seen_any = True
        try:
            data = json.loads(text, parse_constant=_not_json)
        except json.JSONDecodeError as exc:
            reason = f"malformed JSON: {exc.msg}"
            yield line_no, InvalidRecord(f"line {line_no} column {exc.colno}", reason)
            continue
        except RecursionError:
            yield line_no, InvalidRecord(f"line {line_no}", "JSON nested too deeply for a line")
            continue
        if not isinstance(data, dict):
            yield line_no, InvalidRecord(f"line {line_no}", "each line must be a JSON object")
            continue
        yield line_no, data
    if not seen_any:
        raise ImportFailure(path, "", "the file is empty")


def _not_json(name: str) -> Any:
    # json.loads takes NaN and Infinity; JSON (and the sniffer, and ijson) does not.
    raise json.JSONDecodeError(f"{name} is not JSON", name, 0)


def thread_record(data: Any, location: str, path: Path) -> ThreadRecord:
    if not isinstance(data, dict):
        raise ImportFailure(path, location, "a thread must be an object")
    record = ThreadRecord(
        source=_text(data.get("source"), f"{location}.source", path) or "native",
        external_id=_required_id(data, "external_id", location, path),
        location=location,
        title=_text(data.get("title"), f"{location}.title", path),
        url=_text(data.get("url"), f"{location}.url", path),
        author=_text(data.get("author"), f"{location}.author", path),
        published_at=parse_timestamp(data.get("published_at"), f"{location}.published_at", path),
        lead=_text(data.get("lead"), f"{location}.lead", path),
    )
    comments = data.get("comments", [])
    if not isinstance(comments, list):
        raise ImportFailure(path, f"{location}.comments", "must be a list")
    # Walk nested replies with an explicit stack: depth is unbounded.
    stack: list[tuple[Any, str | None, str]] = [
        (item, None, f"{location}.comments[{i}]") for i, item in reversed(list(enumerate(comments)))
    ]
    while stack:
        item, parent_id, item_location = stack.pop()
        comment = comment_record(item, parent_id, item_location, path)
        record.comments.append(comment)
        replies = item.get("replies") or []
        if not isinstance(replies, list):
            raise ImportFailure(path, f"{item_location}.replies", "must be a list")
        for i in range(len(replies) - 1, -1, -1):
            stack.append((replies[i], comment.external_id, f"{item_location}.replies[{i}]"))
    return record


def comment_record(
    data: Any, enclosing_parent: str | None, location: str, path: Path
) -> CommentRecord:
    if not isinstance(data, Mapping):
        raise ImportFailure(path, location, "a comment must be an object")
    body = data.get("body")
    if not isinstance(body, str):
        raise ImportFailure(path, location, 'a comment needs a text "body"')
    parent_id = enclosing_parent
    if parent_id is None and data.get("parent_id") not in (None, ""):
        parent_id = _text(data["parent_id"], f"{location}.parent_id", path)
    return CommentRecord(
        external_id=_required_id(data, "external_id", location, path),
        parent_id=parent_id,
        body=body,
        location=location,
        author=_text(data.get("author"), f"{location}.author", path),
        created_at=parse_timestamp(data.get("created_at"), f"{location}.created_at", path),
    )


def _required_id(data: Mapping[str, Any], key: str, location: str, path: Path) -> str:
    value = _text(data.get(key), f"{location}.{key}", path)
    if not value:
        raise ImportFailure(path, location, f'missing "{key}"')
    return value


_text = scalar_text
