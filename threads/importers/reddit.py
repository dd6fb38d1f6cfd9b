"""Reddit thread JSON: what `https://www.reddit.com/comments/<id>.json` returns.

A two-element list of Listings: the first holds the submission (`t3`), the
second its comment tree (`t1`, nested through `replies`). One file is one
thread. The file is streamed (jsonstream.py) and only the fields read here
are kept, so memory is bounded by the thread's text, not by the dozens of
fields Reddit sends per comment; nesting of any depth is walked without
recursion.

`more` stubs stand for comments Reddit did not include; they are counted and
reported as a warning, never silently dropped. Bodies `[deleted]` (by the
author) and `[removed]` (by a moderator) are kept as they are, hidden, and
their author is not attributed (every deleted account is named `[deleted]`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import jsonstream
from .base import (
    CommentRecord,
    ImportFailure,
    InvalidRecord,
    ThreadRecord,
    parse_timestamp,
    scalar_text,
)

SOURCE = "reddit"
GONE = {"[deleted]", "[removed]"}
# The fields read; any others are skipped unread (jsonstream.build).
FIELDS = frozenset({
    "kind", "data", "children", "replies", "id", "parent_id", "body", "body_html", "author",
    "created_utc", "banned_by", "count", "title", "permalink", "url", "selftext",
})


def read(path: Path) -> Iterator[ThreadRecord | InvalidRecord]:
    stream = jsonstream.events(path)
    event, value = next(stream, ("end", None))
    document = jsonstream.build(stream, event, value, FIELDS)
    jsonstream.drain(stream)
    yield thread_record(document, path)


def is_thread_document(document: Any) -> bool:
    return (
        isinstance(document, list)
        and len(document) == 2
        and all(isinstance(part, dict) and part.get("kind") == "Listing" for part in document)
    )


def thread_record(document: Any, path: Path) -> ThreadRecord:
    if not is_thread_document(document):
        raise ImportFailure(path, "top level", "expected a list of two Listings (post, comments)")
    posts = _children(document[0], "[0]", path)
    if (
        not posts
        or not isinstance(posts[0], dict)
        or posts[0].get("kind") != "t3"
        or not isinstance(posts[0].get("data"), dict)
    ):
        raise ImportFailure(path, "[0].data.children[0]", "expected the post (kind t3)")
    post = posts[0]["data"]
    post_id = _text(post.get("id"), "[0].data.children[0].data.id", path)
    if not post_id:
        raise ImportFailure(path, "[0].data.children[0]", 'the post has no "id"')
    location = f"post t3_{post_id}"
    permalink = _text(post.get("permalink"), f"{location}.permalink", path)
    record = ThreadRecord(
        source=SOURCE,
        external_id=post_id,
        location=location,
        title=_text(post.get("title"), f"{location}.title", path),
        url=f"https://www.reddit.com{permalink}" if permalink.startswith("/") else _text(
            post.get("url"), f"{location}.url", path
        ),
        author=_author(post.get("author"), location, path),
        published_at=parse_timestamp(post.get("created_utc"), f"{location}.created_utc", path),
        lead=_text(post.get("selftext"), f"{location}.selftext", path),
    )
    stubs = 0
    listed = 0  # comment ids the stubs name
    counted = 0  # what Reddit says the stubs hide (their subtrees)
    stack = [(child, f"[1].data.children[{i}]") for i, child in enumerate(
        _children(document[1], "[1]", path)
    )]
    stack.reverse()
    while stack:
        item, item_location = stack.pop()
        if not isinstance(item, dict) or not isinstance(item.get("data"), dict):
            raise ImportFailure(path, item_location, "expected a {kind, data} object")
        kind, data = item.get("kind"), item["data"]
        if kind == "more":
            stubs += 1
            children = data.get("children")
            listed += len(children) if isinstance(children, list) else 0
            counted += _int(data.get("count"))
            continue
        if kind != "t1":
            shown = repr(kind) if isinstance(kind, str) else type(kind).__name__
            raise ImportFailure(path, item_location, f"unexpected kind {shown}")
        record.comments.append(_comment(data, item_location, path))
        replies = data.get("replies")
        if isinstance(replies, dict):
            children = _children(replies, f"{item_location}.data.replies", path)
            for i in range(len(children) - 1, -1, -1):
                stack.append(
                    (children[i], f"{item_location}.data.replies.data.children[{i}]")
                )
    if stubs:
        record.warnings.append(
            f"{stubs} 'more' stub(s) stand for comments that are not in the file: "
            f"{listed} comment id(s) listed, {counted} comment(s) counted by Reddit; "
            "fetch them (e.g. /api/morechildren) and import again"
        )
    return record


def _comment(data: dict[str, Any], location: str, path: Path) -> CommentRecord:
    comment_id = _text(data.get("id"), f"{location}.data.id", path)
    if not comment_id:
        raise ImportFailure(path, location, 'a comment without "id"')
    location = f"comment t1_{comment_id}"
    parent = _text(data.get("parent_id"), f"{location}.parent_id", path)
    body = _text(data.get("body"), f"{location}.body", path)
    author = _author(data.get("author"), location, path)
    gone = body if body in GONE else ("[removed]" if data.get("banned_by") else "")
    return CommentRecord(
        external_id=comment_id,
        # t1_ = a comment, t3_ = the post itself (top level).
        parent_id=parent[3:] if parent.startswith("t1_") else None,
        body=body,
        body_html=_text(data.get("body_html"), f"{location}.body_html", path),
        location=location,
        author=author,
        created_at=parse_timestamp(data.get("created_utc"), f"{location}.created_utc", path),
        state="hidden" if gone else None,
        source_state=f"{SOURCE}:{gone.strip('[]')}" if gone else "",
    )


def _children(listing: Any, location: str, path: Path) -> list[Any]:
    data = listing.get("data") if isinstance(listing, dict) else None
    children = data.get("children") if isinstance(data, dict) else None
    if not isinstance(children, list):
        raise ImportFailure(path, location, "expected a Listing with data.children")
    return children


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _author(value: Any, location: str, path: Path) -> str:
    # Every deleted account is named "[deleted]": not one author.
    author = _text(value, f"{location}.author", path)
    return "" if author in GONE else author


_text = scalar_text
