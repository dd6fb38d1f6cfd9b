"""What every importer produces, and the errors it raises.

An importer is a generator `read(path) -> Iterator[ThreadRecord | InvalidRecord]`
that yields one thread at a time, so memory is bounded by the largest thread,
not by the file. Parsing only: nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime


class ImportFailure(Exception):
    """A file could not be imported; names the file, the record and the reason."""

    def __init__(self, path: Path | str, location: str, reason: str) -> None:
        self.path = str(path)
        self.location = location
        self.reason = reason
        where = f"{self.path}: {location}" if location else self.path
        super().__init__(f"{where}: {reason}")


@dataclass(slots=True)
class CommentRecord:
    external_id: str
    parent_id: str | None
    body: str
    location: str
    author: str = ""
    # Hashed on the way in and never stored in clear.
    author_email: str = ""
    body_html: str = ""
    created_at: datetime | None = None
    # Initial moderation state for comments the source already removed.
    state: str | None = None
    source_state: str = ""
    # The source's own id for the commenter (the API sends it): identifies
    # them across threads of the source when no e-mail is given. Hashed too.
    author_external_id: str = ""


@dataclass(slots=True)
class ThreadRecord:
    source: str
    external_id: str
    location: str
    title: str = ""
    url: str = ""
    author: str = ""
    published_at: datetime | None = None
    lead: str = ""
    comments: list[CommentRecord] = field(default_factory=list)
    # Things the importer noticed that the user should hear about.
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class InvalidRecord:
    """A thread the reader could not make sense of; the file may go on."""

    location: str
    reason: str


def parse_timestamp(value: Any, location: str, path: Path | str) -> datetime | None:
    """ISO 8601 text, a date, or a Unix epoch number -> an aware datetime.

    Times without a zone are taken as UTC: exports that omit it (WXR's
    `_gmt` fields, Disqus) mean UTC.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ImportFailure(path, location, f"not a timestamp: {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ImportFailure(path, location, f"not a timestamp: {value!r}")
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ImportFailure(
                path, location, f"not a timestamp: {value!r} seconds is out of range"
            ) from None
    if isinstance(value, str):
        text = value.strip()
        parsed: datetime | date | None
        try:
            parsed = parse_datetime(text.replace(" ", "T", 1) if "T" not in text else text)
            if parsed is None:
                parsed = parse_date(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, datetime):
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if isinstance(parsed, date):
            return datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC)
    raise ImportFailure(path, location, f"not a timestamp: {value!r}")


def scalar_text(value: Any, location: str, path: Path | str) -> str:
    """A field's value as text: strings as they are, numbers written out.

    An object or a list where text belongs is refused rather than written
    out with str() (a deeply nested one would not even survive that).
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    raise ImportFailure(path, location, f"expected text, not {type(value).__name__}")


def salted_hash(salt: str, *parts: str) -> str:
    """HMAC-SHA256 of the parts: recognisable across threads, not reversible."""
    message = "\x00".join(parts).encode("utf-8")
    return hmac.digest(salt.encode("utf-8"), message, "sha256").hex()


def content_hash(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
