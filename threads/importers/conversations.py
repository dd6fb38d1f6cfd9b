"""Conversation JSON: flat utterances linked by `id` / `parent_id`.

The shape of the Wikipedia talk-page corpora (WikiConv, the Conversation AI
crowdsourcing sets): a JSON array with one element per conversation, either
an object mapping utterance id to utterance or a list of utterances. A flat
array of utterances that each carry `conversation_id` works too. The array is
decoded one element at a time (never the whole file), so memory is bounded by
the largest conversation; `.gz` files are read transparently.

Utterance fields: `id`, `parent_id` (empty = top level), `content` (or `text`
or `body`), `user_text` (or `author`), `timestamp` (or `created_at`),
`page_title`, `comment_type`/`status` (kept in `source_state`).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .base import (
    CommentRecord,
    ImportFailure,
    InvalidRecord,
    ThreadRecord,
    parse_timestamp,
    scalar_text,
)
from .source import open_source
from .spool import Spool

SOURCE = "conversations"
CHUNK = 256 * 1024
# One conversation bigger than this is a malformed file, not a conversation.
MAX_ELEMENT = 64 * 1024 * 1024
REMOVED_TYPES = ("REMOVAL", "DELETION")
_HEADING = re.compile(r"^\s*(=+)\s*(.*?)\s*\1\s*$")
_WS = frozenset(" \t\r\n")


def read(path: Path) -> Iterator[ThreadRecord | InvalidRecord]:
    flat: Spool | None = None
    try:
        for index, element in iter_json_array(path):
            location = f"[{index}]"
            if isinstance(element, dict) and "id" in element and "parent_id" in element:
                # A flat utterance: group by conversation_id (spool.py).
                try:
                    key = _text(element.get("conversation_id"), location, path)
                except ImportFailure as exc:
                    yield InvalidRecord(exc.location, exc.reason)
                    continue
                if not key:
                    yield InvalidRecord(
                        location, "a flat utterance needs conversation_id to find its thread"
                    )
                    continue
                flat = flat or Spool()
                flat.add(key, (location, element))
                continue
            try:
                yield _conversation(element, location, path)
            except ImportFailure as exc:
                yield InvalidRecord(exc.location, exc.reason)
        if flat is not None:
            for key, _, items in flat.groups():
                try:
                    yield _conversation(
                        [u for _, u in items], items[0][0], path, conversation_id=key
                    )
                except ImportFailure as exc:
                    yield InvalidRecord(exc.location, exc.reason)
    finally:
        if flat is not None:
            flat.close()


def _conversation(
    element: Any, location: str, path: Path, conversation_id: str = ""
) -> ThreadRecord:
    if isinstance(element, dict):
        utterances = list(element.values())
    elif isinstance(element, list):
        utterances = element
    else:
        raise ImportFailure(path, location, "a conversation must be an object or a list")
    comments: list[CommentRecord] = []
    warnings: list[str] = []
    page_title = ""
    heading = ""
    for utterance in utterances:
        if not isinstance(utterance, dict):
            raise ImportFailure(path, location, "an utterance must be an object")
        comment_id = _text(utterance.get("id"), location, path)
        if not comment_id:
            raise ImportFailure(path, location, 'an utterance without "id"')
        where = f"{location} utterance {comment_id}"
        kind = _text(utterance.get("comment_type") or utterance.get("status"), where, path)
        body = _text(_first(utterance, "content", "text", "body"), where, path)
        parent = _text(utterance.get("parent_id"), where, path)
        if parent == comment_id:
            # Seen in WikiConv: an edited comment pointing at itself.
            warnings.append(f"utterance {comment_id} names itself as parent; kept at top level")
            parent = ""
        page_title = page_title or _text(utterance.get("page_title"), where, path)
        conversation_id = conversation_id or _text(utterance.get("conversation_id"), where, path)
        if not parent and not heading and (match := _HEADING.match(body)):
            heading = match.group(2)
        comments.append(
            CommentRecord(
                external_id=comment_id,
                parent_id=parent or None,
                body=body.strip(),
                location=where,
                author=_text(_first(utterance, "user_text", "author", "user"), where, path),
                created_at=_timestamp(_first(utterance, "timestamp", "created_at"), where, path),
                state="hidden" if any(t in kind.upper() for t in REMOVED_TYPES) else None,
                source_state=kind[:32],
            )
        )
    if not comments:
        raise ImportFailure(path, location, "an empty conversation")
    roots = [c.external_id for c in comments if c.parent_id is None]
    external_id = conversation_id or (roots[0] if roots else comments[0].external_id)
    title = f"{page_title} § {heading}" if page_title and heading else page_title or heading
    return ThreadRecord(
        source=SOURCE,
        external_id=external_id,
        location=f"{location} conversation {external_id}",
        title=title,
        comments=comments,
        warnings=warnings,
    )


def _timestamp(value: Any, location: str, path: Path):  # type: ignore[no-untyped-def]
    if isinstance(value, str) and value.rstrip().endswith(" UTC"):
        value = value.rstrip()[:-4]  # WikiConv writes "2006-03-10 14:50:43 UTC"
    return parse_timestamp(value, location, path)


def _first(data: dict[str, Any], *names: str) -> Any:
    for name in names:
        if data.get(name) not in (None, ""):
            return data[name]
    return None


_text = scalar_text


def iter_json_array(path: Path) -> Iterator[tuple[int, Any]]:
    """Each element of a top-level JSON array, decoded one at a time."""
    decoder = json.JSONDecoder()
    with open_source(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig")
        buf = ""
        pos = 0
        eof = False
        lines_before = 0  # newlines in the text dropped from the buffer

        def more(size: int = CHUNK) -> bool:
            nonlocal buf, pos, eof, lines_before
            lines_before += buf.count("\n", 0, pos)
            buf = buf[pos:]
            pos = 0
            chunk = text.read(size)
            if not chunk:
                eof = True
                return False
            buf += chunk
            return True

        def skip_ws() -> bool:
            nonlocal pos
            while True:
                while pos < len(buf) and buf[pos] in _WS:
                    pos += 1
                if pos < len(buf):
                    return True
                if not more():
                    return False

        def where(at: int) -> str:
            line = lines_before + buf.count("\n", 0, at) + 1
            column = at - buf.rfind("\n", 0, at)
            return f"line {line} column {column}"

        if not skip_ws():
            raise ImportFailure(path, "", "the file is empty")
        if buf[pos] != "[":
            raise ImportFailure(path, where(pos), "expected a JSON array of conversations")
        pos += 1
        index = 0
        while True:
            if not skip_ws():
                raise ImportFailure(path, where(pos), "malformed JSON: the array is not closed")
            if buf[pos] == "]":
                pos += 1
                break
            if index:
                if buf[pos] != ",":
                    raise ImportFailure(path, where(pos), "malformed JSON: expected ',' or ']'")
                pos += 1
                if not skip_ws():
                    raise ImportFailure(path, where(pos), "malformed JSON: the array is not closed")
            size = CHUNK
            while True:
                try:
                    element, end = decoder.raw_decode(buf, pos)
                    break
                except RecursionError:
                    raise ImportFailure(
                        path, where(pos), "JSON nested too deeply for a conversation"
                    ) from None
                except json.JSONDecodeError as exc:
                    if eof or len(buf) - pos > MAX_ELEMENT:
                        raise ImportFailure(
                            path, where(exc.pos), f"malformed JSON: {exc.msg}"
                        ) from None
                    more(size)
                    size *= 2  # an element spanning many chunks is re-parsed rarely
            pos = end
            yield index, element
            index += 1
        if skip_ws():
            raise ImportFailure(path, where(pos), "malformed JSON: text after the array")
