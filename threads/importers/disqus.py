"""Disqus XML export (`<disqus>` with `<thread>`, `<post>` and `<category>`).

Posts name their thread and parent by `dsq:id` and may come in any order, so
the reader spools them by thread (see spool.py) and yields one
thread at a time once the file has been read: the whole file is validated
before anything is stored. Deleted and spam posts are kept, hidden, with
the source's flags in `source_state`. IP addresses are never read.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .base import CommentRecord, ImportFailure, InvalidRecord, ThreadRecord, parse_timestamp
from .html_text import html_to_text
from .spool import Spool
from .xmlstream import child_fields, field_text, iter_elements, local_name

SOURCE = "disqus"


@dataclass(slots=True)
class _ThreadHead:
    title: str
    url: str
    author: str
    created_at: str
    message: str
    location: str


def read(path: Path) -> Iterator[ThreadRecord | InvalidRecord]:
    with Spool() as spool:
        yield from _spool_posts(iter_elements(path, depth=1), spool, path)
        for key, head, comments in spool.groups():
            yield _thread(key, head, comments, path)


def _spool_posts(
    elements: Iterator[ET.Element], spool: Spool, path: Path
) -> Iterator[InvalidRecord]:
    """Spool the threads' heads and the posts; yield what cannot be read."""
    posts = 0
    for elem in elements:
        name = local_name(elem.tag)
        if name == "thread":
            key = _dsq_id(elem)
            if not key:
                yield InvalidRecord("a <thread> without dsq:id", "cannot be referenced")
                continue
            fields = child_fields(elem)
            author = fields.get("author")
            spool.set_head(
                key,
                _ThreadHead(
                    title=field_text(fields, "title"),
                    url=field_text(fields, "link"),
                    author=field_text(child_fields(author), "name"),
                    created_at=field_text(fields, "createdAt"),
                    message=field_text(fields, "message"),
                    location=f"thread dsq:id={key}",
                ),
            )
        elif name == "post":
            posts += 1
            try:
                thread_key, comment = _post(elem, posts, path)
            except ImportFailure as exc:
                yield InvalidRecord(exc.location, exc.reason)
                continue
            spool.add(thread_key, comment)


def _thread(
    key: str, head: _ThreadHead | None, comments: list[CommentRecord], path: Path
) -> ThreadRecord:
    if head is None:
        return ThreadRecord(
            source=SOURCE,
            external_id=key,
            location=f"thread dsq:id={key}",
            comments=comments,
            warnings=[
                f"thread dsq:id={key} is not in the export; its {len(comments)} post(s) "
                "are kept under a thread without title"
            ],
        )
    try:
        published = parse_timestamp(head.created_at, f"{head.location} createdAt", path)
    except ImportFailure:
        published = None
    return ThreadRecord(
        source=SOURCE,
        external_id=key,
        location=head.location,
        title=head.title,
        url=head.url,
        author=head.author,
        published_at=published,
        lead=html_to_text(head.message),
        comments=comments,
    )


def _post(elem: ET.Element, number: int, path: Path) -> tuple[str, CommentRecord]:
    fields = child_fields(elem)
    post_id = _dsq_id(elem) or field_text(fields, "id")
    location = f"post dsq:id={post_id}" if post_id else f"<post> #{number}"
    if not post_id:
        raise ImportFailure(path, location, "a <post> without dsq:id or <id>")
    thread = fields.get("thread")
    thread_key = _dsq_id(thread) if thread is not None else ""
    if not thread_key:
        raise ImportFailure(path, location, "a <post> without <thread dsq:id=...>")
    parent = fields.get("parent")
    parent_id = _dsq_id(parent) if parent is not None else ""
    deleted = _flag(fields, "isDeleted", location, path)
    spam = _flag(fields, "isSpam", location, path)
    flags = [name for name, on in (("deleted", deleted), ("spam", spam)) if on]
    author = child_fields(fields.get("author"))
    markup = field_text(fields, "message")
    return thread_key, CommentRecord(
        external_id=post_id,
        parent_id=parent_id or None,
        body=html_to_text(markup),
        body_html=markup,
        location=location,
        author=field_text(author, "name"),
        author_email=field_text(author, "email"),
        created_at=parse_timestamp(
            field_text(fields, "createdAt"), f"{location} createdAt", path
        ),
        state="hidden" if flags else None,
        source_state=f"{SOURCE}:{','.join(flags)}" if flags else "",
    )


def _flag(fields: dict[str, ET.Element], name: str, location: str, path: Path) -> bool:
    value = field_text(fields, name).lower()
    if value in ("", "false", "0"):
        return False
    if value in ("true", "1"):
        return True
    raise ImportFailure(path, location, f"<{name}> must be true or false, not {value!r}")


def _dsq_id(elem: ET.Element) -> str:
    """The first attribute whose local name is `id` (`dsq:id`), stripped."""
    for name, value in elem.items():
        if local_name(name) == "id":
            return value.strip()
    return ""
