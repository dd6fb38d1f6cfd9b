"""Threadkeeper's own formats, documented in docs/import-formats.md.

JSON: `{"threads": [{..., "comments": [{..., "replies": [...]}]}]}`; comments
nest through `replies` or form a flat list that carries `parent_id`.
JSONL: one comment per line with its thread under `"thread"`, read line by line
so that a file of any size streams; consecutive lines of one thread form one
record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from .base import (
    CommentRecord,
    ImportFailure,
    InvalidRecord,
    ThreadRecord,
    parse_timestamp,
)
from .source import load_json, open_source

BOM = b"\xef\xbb\xbf"


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
    document = load_json(path)
    if not isinstance(document, dict) or not isinstance(document.get("threads"), list):
        raise ImportFailure(path, "top level", 'expected an object with a "threads" list')
    for index, data in enumerate(document["threads"]):
        location = f"threads[{index}]"
        try:
            yield thread_record(data, location, path)
        except ImportFailure as exc:
            yield InvalidRecord(location=exc.location, reason=exc.reason)


def read_jsonl(path: Path) -> Iterator[ThreadRecord | InvalidRecord]:
    with open_source(path) as stream:
        current: ThreadRecord | None = None
        for line_no, data in _json_lines(stream, path):
            location = f"line {line_no}"
            if isinstance(data, InvalidRecord):
                yield data
                continue
            try:
                thread_data = data.get("thread")
                if not isinstance(thread_data, dict):
                    raise ImportFailure(path, location, 'each line needs a "thread" object')
                key = (_text(thread_data.get("source")) or "native", _required_id(
                    thread_data, "external_id", f"{location} thread", path
                ))
                comment = comment_record(data, None, location, path)
            except ImportFailure as exc:
                yield InvalidRecord(location=exc.location, reason=exc.reason)
                continue
            if current is None or (current.source, current.external_id) != key:
                if current is not None:
                    yield current
                try:
                    current = thread_record({**thread_data, "comments": []}, location, path)
                except ImportFailure as exc:
                    current = None
                    yield InvalidRecord(location=exc.location, reason=exc.reason)
                    continue
            current.comments.append(comment)
        if current is not None:
            yield current


def _json_lines(stream: BinaryIO, path: Path) -> Iterator[tuple[int, Any]]:
    offset = 0
    seen_any = False
    for line_no, raw in enumerate(stream, start=1):
        text = decode(raw, path, offset)
        offset += len(raw)
        if not text.strip():
            continue
        seen_any = True
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            reason = f"malformed JSON: {exc.msg}"
            yield line_no, InvalidRecord(f"line {line_no} column {exc.colno}", reason)
            continue
        if not isinstance(data, dict):
            yield line_no, InvalidRecord(f"line {line_no}", "each line must be a JSON object")
            continue
        yield line_no, data
    if not seen_any:
        raise ImportFailure(path, "", "the file is empty")


def thread_record(data: Any, location: str, path: Path) -> ThreadRecord:
    if not isinstance(data, dict):
        raise ImportFailure(path, location, "a thread must be an object")
    record = ThreadRecord(
        source=_text(data.get("source")) or "native",
        external_id=_required_id(data, "external_id", location, path),
        location=location,
        title=_text(data.get("title")),
        url=_text(data.get("url")),
        author=_text(data.get("author")),
        published_at=parse_timestamp(data.get("published_at"), f"{location}.published_at", path),
        lead=_text(data.get("lead")),
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
        parent_id = _text(data["parent_id"])
    return CommentRecord(
        external_id=_required_id(data, "external_id", location, path),
        parent_id=parent_id,
        body=body,
        location=location,
        author=_text(data.get("author")),
        created_at=parse_timestamp(data.get("created_at"), f"{location}.created_at", path),
    )


def _required_id(data: Mapping[str, Any], key: str, location: str, path: Path) -> str:
    value = _text(data.get(key))
    if not value:
        raise ImportFailure(path, location, f'missing "{key}"')
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return str(value)
