"""The one boundary every record crosses between a reader and the database.

`read_path` passes each reader's output through `validated`, so a rule here
holds for every format. A record is refused (an InvalidRecord naming the
record and the field) when a value cannot be stored as it is:

- text longer than its model column (the lengths are read from the model
  fields), or a body / body_html longer than IMPORT_MAX_BODY_CHARS: refused,
  never cut;
- a NUL character or a lone surrogate in any text field (PostgreSQL cannot
  store the one, no database can encode the other);
- a time outside 1970-01-01 .. 2100-12-31 UTC (a year-9999 time with a
  negative offset is year 10000 in UTC, which Python cannot read back).

A thread URL whose scheme is not http or https is dropped with a warning
naming the record: the thread is kept, without a link.

A refused comment is one record; its thread goes on without it (its replies
attach at top level, with the usual warning). A refused thread field
refuses the thread with its comments.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from ..links import is_http_url
from .base import CommentRecord, InvalidRecord, ThreadRecord

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
# NUL, and the surrogates a JSON `\\ud800` escape can produce on its own.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Limits:
    thread: dict[str, int]
    comment: dict[str, int]


@functools.cache
def _column_limits() -> tuple[dict[str, int], dict[str, int]]:
    # Imported here: the readers are plain parsing code, loaded before apps are.
    from threads.models import Author, Comment, Thread

    def length(model: type, name: str) -> int:
        return model._meta.get_field(name).max_length

    thread = {
        "source": length(Thread, "source"),
        "external_id": length(Thread, "external_id"),
        "title": length(Thread, "title"),
        "url": length(Thread, "url"),
        "author": length(Thread, "author_name"),
    }
    comment = {
        "external_id": length(Comment, "external_id"),
        # A parent is named by its external id.
        "parent_id": length(Comment, "external_id"),
        "author": min(length(Comment, "author_name"), length(Author, "name")),
        "author_external_id": length(Comment, "external_id"),
        "source_state": length(Comment, "source_state"),
    }
    return thread, comment


def limits() -> Limits:
    thread, comment = _column_limits()
    body = int(settings.IMPORT_MAX_BODY_CHARS)
    return Limits(thread=thread, comment={**comment, "body": body, "body_html": body})


def validated(
    items: Iterator[ThreadRecord | InvalidRecord], path: Path | str
) -> Iterator[ThreadRecord | InvalidRecord]:
    """The reader's output with every unstorable record refused (see above)."""
    bounds = limits()
    for item in items:
        if isinstance(item, InvalidRecord):
            yield item
            continue
        problem = _thread_problem(item, bounds)
        if problem:
            yield InvalidRecord(item.location, problem)
            continue
        kept: list[CommentRecord] = []
        for comment in item.comments:
            problem = _comment_problem(comment, bounds)
            if problem:
                yield InvalidRecord(comment.location, problem)
            else:
                kept.append(comment)
        if len(kept) != len(item.comments):
            item.comments = kept
        _drop_unsafe_url(item)
        yield item


def comment_problem(comment: CommentRecord) -> str:
    """Why this one comment cannot be stored ("" when it can): the rules above, for an edit."""
    return _comment_problem(comment, limits())


def _thread_problem(record: ThreadRecord, bounds: Limits) -> str:
    for name in ("source", "external_id", "title", "url", "author", "lead"):
        problem = _text_problem(name, getattr(record, name), bounds.thread.get(name))
        if problem:
            return problem
    return _time_problem("published_at", record, "published_at")


def _comment_problem(comment: CommentRecord, bounds: Limits) -> str:
    for name in (
        "external_id", "parent_id", "author", "author_email", "author_external_id", "body",
        "body_html", "source_state",
    ):
        problem = _text_problem(name, getattr(comment, name), bounds.comment.get(name))
        if problem:
            return problem
    return _time_problem("created_at", comment, "created_at")


def _text_problem(name: str, value: str | None, limit: int | None) -> str:
    if not value:
        return ""
    if limit is not None and len(value) > limit:
        return f"{name}: {len(value):,} characters, over the limit of {limit:,}"
    found = _UNSTORABLE.search(value)
    if found:
        what = "a NUL character" if found.group() == "\x00" else "a lone surrogate"
        return f"{name}: contains {what} at character {found.start()}"
    return ""


def _time_problem(name: str, record: ThreadRecord | CommentRecord, attribute: str) -> str:
    value: datetime | None = getattr(record, attribute)
    if value is None:
        return ""
    if value.tzinfo is None:
        # A time without a zone is UTC (email.utils gives naive ones for -0000).
        value = value.replace(tzinfo=UTC)
        setattr(record, attribute, value)
    if not EARLIEST <= value <= LATEST:
        return (
            f"{name}: {value.isoformat()} is outside the accepted range "
            f"{EARLIEST.date()} to {LATEST.date()} (UTC)"
        )
    return ""


def _drop_unsafe_url(record: ThreadRecord) -> None:
    if not record.url or is_http_url(record.url):
        return
    record.warnings.append(
        f"url {record.url[:80]!r} dropped: only http and https links are kept"
    )
    record.url = ""
