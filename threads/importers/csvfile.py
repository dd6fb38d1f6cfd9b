"""CSV with a header row: one comment per row.

Columns (case-insensitive, in any order; other columns are ignored):
`thread_id`, `comment_id`, `body` (required); `thread_title`, `thread_url`,
`parent_id` (empty = top level), `author`, `created_at` (ISO 8601 or Unix
seconds; no zone = UTC). Rows of one thread may be scattered through the
file: they are spooled by thread (spool.py) and yielded one thread
at a time after the whole file has been read.
"""

from __future__ import annotations

import csv
import io
import operator
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .base import CommentRecord, ImportFailure, InvalidRecord, ThreadRecord, parse_timestamp
from .source import open_source
from .spool import Spool

SOURCE = "csv"
REQUIRED = ("thread_id", "comment_id", "body")
OPTIONAL = ("thread_title", "thread_url", "parent_id", "author", "created_at")
FIELDS = (*REQUIRED, *OPTIONAL)
# A comment body larger than this is not a comment; it bounds memory per row.
MAX_FIELD = 4 * 1024 * 1024


@dataclass(slots=True)
class _ThreadHead:
    title: str
    url: str
    location: str


def normalise(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def read(path: Path) -> Iterator[ThreadRecord | InvalidRecord]:
    csv.field_size_limit(MAX_FIELD)
    with open_source(path) as raw, Spool() as spool:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        try:
            header = next(reader, None)
            if header is None:
                raise ImportFailure(path, "", "the file is empty")
            columns = {normalise(name): i for i, name in reversed(list(enumerate(header)))}
            missing = [name for name in REQUIRED if name not in columns]
            if missing:
                raise ImportFailure(
                    path,
                    "line 1 (header)",
                    f"missing column(s) {', '.join(missing)}; the header must name "
                    f"{', '.join(REQUIRED)} (and may name {', '.join(OPTIONAL)})",
                )
            # One C call picks a row's cells: a column the header lacks reads
            # index -1, an empty cell appended to every row.
            take = operator.itemgetter(*(columns.get(name, -1) for name in FIELDS))
            width = 1 + max(columns.get(name, -1) for name in FIELDS)
            previous_thread = None
            row_number = 0
            for row in reader:
                row_number += 1
                if not "".join(row).strip():
                    continue
                location = f"row {row_number} (line {reader.line_num})"
                if len(row) < width:
                    row += [""] * (width - len(row))  # a short row's missing cells are empty
                row.append("")
                thread_id, comment_id, body, title, url, parent, author, stamp_text = take(row)
                thread_id = thread_id.strip()
                comment_id = comment_id.strip()
                if not thread_id or not comment_id:
                    yield InvalidRecord(location, "thread_id and comment_id must not be empty")
                    continue
                stamp: str | float = stamp_text.strip()
                # ASCII only: str.isdigit() also takes "²", which float() refuses.
                if stamp.isascii() and stamp.isdigit():
                    stamp = float(stamp)  # Unix seconds
                try:
                    created = parse_timestamp(stamp, location, path)
                except ImportFailure as exc:
                    yield InvalidRecord(exc.location, exc.reason)
                    continue
                if thread_id != previous_thread:
                    spool.set_head(
                        thread_id,
                        _ThreadHead(
                            title=title.strip(),
                            url=url.strip(),
                            location=f"thread {thread_id!r} ({location})",
                        ),
                    )
                    previous_thread = thread_id
                parent = parent.strip()
                spool.add(
                    thread_id,
                    CommentRecord(
                        external_id=comment_id,
                        parent_id=parent or None,
                        body=body,
                        location=location,
                        author=author.strip(),
                        created_at=created,
                    ),
                )
        except csv.Error as exc:
            raise ImportFailure(path, f"line {reader.line_num}", f"malformed CSV: {exc}") from None
        for key, head, comments in spool.groups():
            yield ThreadRecord(
                source=SOURCE,
                external_id=key,
                location=head.location if head else f"thread {key!r}",
                title=head.title if head else "",
                url=head.url if head else "",
                comments=comments,
            )
