"""WordPress eXtended RSS (WXR), the export of Tools > Export.

Each `<item>` (post or page) is a thread, identified as `<blog>/?p=<post_id>`
(the blog from `wp:base_blog_url`, without scheme: post ids are per blog);
its `<wp:comment>` elements are the comments, linked by `wp:comment_parent`
(0 = top level). Items are streamed one at a time. Attachments and menu
entries without comments are skipped.
`wp:comment_approved` is kept in `source_state`; spam and trash are hidden,
everything else starts pending (see docs/import-formats.md). Comment
author IPs are never read.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from .base import CommentRecord, ImportFailure, InvalidRecord, ThreadRecord, parse_timestamp
from .html_text import html_to_text
from .xmlstream import child_fields, field_text, iter_elements

SOURCE = "wxr"
HIDDEN_STATES = {"spam", "trash", "post-trashed"}
NOT_THREADS = {"attachment", "nav_menu_item", "revision", "wp_navigation", "custom_css"}
ZERO_DATE = "0000-00-00 00:00:00"


def read(path: Path) -> Iterator[ThreadRecord | InvalidRecord]:
    number = 0
    blog = ""
    for elem in iter_elements(path, depth=2):
        name = _name(elem.tag)
        # The channel names the blog before its items; post ids are per blog.
        if name == "wp:base_blog_url" or (name == "link" and not blog):
            blog = blog_key(elem.text or "")
            continue
        if name != "item":
            continue
        number += 1
        try:
            record = _item(elem, number, blog, path)
        except ImportFailure as exc:
            yield InvalidRecord(exc.location, exc.reason)
            continue
        if record is not None:
            yield record


def blog_key(url: str) -> str:
    """`https://example.com/blog/` -> `example.com/blog`: one blog, either scheme."""
    url = url.strip()
    return url.split("://", 1)[-1].rstrip("/") if url else ""


def _item(elem: ET.Element, number: int, blog: str, path: Path) -> ThreadRecord | None:
    fields = child_fields(elem, _name)
    comments = [child for child in elem if _name(child.tag) == "wp:comment"]
    post_type = field_text(fields, "wp:post_type")
    if not comments and post_type in NOT_THREADS:
        return None
    post_id = field_text(fields, "wp:post_id")
    link = field_text(fields, "link")
    if post_id:
        # WordPress's own short link: unique across blogs, stable across exports.
        external_id = f"{blog}/?p={post_id}" if blog else post_id
    else:
        external_id = field_text(fields, "guid") or link
    location = f"item wp:post_id={post_id}" if post_id else f"<item> #{number}"
    if not external_id:
        raise ImportFailure(path, location, "an <item> without wp:post_id, guid or link")
    record = ThreadRecord(
        source=SOURCE,
        external_id=external_id,
        location=location,
        title=field_text(fields, "title"),
        url=link,
        author=field_text(fields, "dc:creator"),
        published_at=_post_date(fields, location, path),
        lead=html_to_text(field_text(fields, "content:encoded"), keep_newlines=True),
    )
    for comment in comments:
        record.comments.append(_comment(comment, location, path))
    return record


def _comment(elem: ET.Element, item_location: str, path: Path) -> CommentRecord:
    fields = child_fields(elem, _name)
    comment_id = field_text(fields, "wp:comment_id")
    location = f"{item_location} wp:comment_id={comment_id}"
    if not comment_id:
        raise ImportFailure(path, item_location, "a <wp:comment> without wp:comment_id")
    parent = field_text(fields, "wp:comment_parent")
    approved = field_text(fields, "wp:comment_approved")
    created = _date(fields, "wp:comment_date_gmt", location, path) or _date(
        fields, "wp:comment_date", location, path
    )
    markup = field_text(fields, "wp:comment_content")
    return CommentRecord(
        external_id=comment_id,
        parent_id=None if parent in ("", "0") else parent,
        body=html_to_text(markup, keep_newlines=True),
        body_html=markup,
        location=location,
        author=field_text(fields, "wp:comment_author"),
        author_email=field_text(fields, "wp:comment_author_email"),
        created_at=created,
        state="hidden" if approved.lower() in HIDDEN_STATES else None,
        source_state=f"{SOURCE}:{approved}"[:32] if approved else "",
    )


def _post_date(fields: dict[str, ET.Element], location: str, path: Path) -> datetime | None:
    gmt = _date(fields, "wp:post_date_gmt", location, path)
    if gmt is not None:
        return gmt
    pub = field_text(fields, "pubDate")
    if pub:
        try:
            return parsedate_to_datetime(pub)
        except (TypeError, ValueError, OverflowError, IndexError):
            pass
    return _date(fields, "wp:post_date", location, path)


def _date(fields: dict[str, ET.Element], name: str, location: str, path: Path) -> datetime | None:
    value = field_text(fields, name)
    if not value or value == ZERO_DATE:
        return None
    # WordPress writes `_gmt` fields in UTC and the others in the blog's zone,
    # which the export does not name; both are read as UTC.
    return parse_timestamp(value, f"{location} {name}", path)


_PREFIXES = (
    ("wordpress.org/export/1.0/excerpt", "excerpt"),
    ("wordpress.org/export", "wp"),
    ("purl.org/rss/1.0/modules/content", "content"),
    ("purl.org/dc/elements", "dc"),
)


@functools.lru_cache(maxsize=4096)
def _name(tag: str) -> str:
    """`{uri}local` -> `prefix:local` with WXR's usual prefixes, whatever the URI version."""
    uri, namespaced, local = tag.partition("}")
    if not namespaced:
        return tag
    for fragment, prefix in _PREFIXES:
        if fragment in uri:
            return f"{prefix}:{local}"
    return local
