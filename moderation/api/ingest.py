"""Ingest: comments the site sends, one or a batch, stored by the importers' own services.

Each item is read by the native format's readers (`thread_record`,
`comment_record`: the same field rules as a native JSONL line), checked at the
importers' one boundary (`validated`), grouped by thread and stored with
`thread_import_from_record`, one savepoint per thread: idempotent on (source,
thread, external id), parents found in the batch or among stored comments,
scoring enqueued at commit by the `comments_changed` signal, exactly as for an
import. An item that fails is reported in its own result; the others land.

Edits: an item sent again with another body is an edit (re-scored, its
version bumped), as `PATCH /comments/{id}` is (`comment_body_edit`).
A comment its author deleted takes no more edits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction

from moderation.decisions.states import AUTHOR_DELETED, is_visible
from threads.importers import ImportFailure, InvalidRecord, ThreadRecord
from threads.importers.base import CommentRecord, scalar_text
from threads.importers.native import comment_record, thread_record
from threads.importers.validate import validated
from threads.models import Comment, Thread
from threads.services import AuthorCache, ImportReport, thread_import_from_record

from .errors import ApiError
from .selectors import sources_premoderated

# What the API calls a request body's origin in an ImportFailure (no file here).
ORIGIN = "request"
THREAD_FIELDS = ("title", "url", "author", "published_at", "lead")


@dataclass
class ItemResult:
    index: int
    status: str = "error"  # created | updated | unchanged | error
    comment: Comment | None = None
    visible: bool | None = None
    error: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.comment is not None:
            c = self.comment
            out.update(id=c.pk, external_id=c.external_id, thread=c.thread_id, state=c.state,
                       version=c.version, visible=self.visible)
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass
class _Item:
    index: int
    location: str
    comment: CommentRecord


@dataclass
class _Group:
    record: ThreadRecord
    items: list[_Item] = field(default_factory=list)


def items_from_body(body: Any) -> tuple[list[Any], bool]:
    """The items of a request body and whether it was a batch (`{"comments": [...]}`)."""
    if isinstance(body, Mapping) and "comments" in body:
        items = body["comments"]
        if not isinstance(items, list):
            raise ApiError(400, "comments: must be a list", field="comments")
        if not items:
            raise ApiError(400, "comments: the list is empty", field="comments")
        limit = settings.API_MAX_BATCH
        if len(items) > limit:
            raise ApiError(413, f"comments: {len(items):,} in one request, over the limit of "
                                f"{limit:,}; send several batches", field="comments",
                           extra={"limit": limit})
        return items, True
    if isinstance(body, Mapping):
        return [body], False
    raise ApiError(400, 'send a comment object, or {"comments": [...]} for a batch')


def comments_ingest(*, items: list[Any], batch: bool) -> list[ItemResult]:
    """Store the items; a result per item, in order (see the module docstring)."""
    results = [ItemResult(index=i) for i in range(len(items))]
    groups: dict[tuple[str, str], _Group] = {}
    for index, data in enumerate(items):
        location = f"comments[{index}]" if batch else "comment"
        try:
            key, record, comment = _read_item(data, location)
        except ImportFailure as exc:
            results[index].error = _error(exc.location, exc.reason, location)
            continue
        group = groups.setdefault(key, _Group(record=record))
        group.items.append(_Item(index, location, comment))
    authors: AuthorCache = {}
    for group in groups.values():
        _ingest_group(group, results, authors)
    return results


def _read_item(data: Any, location: str) -> tuple[tuple[str, str], ThreadRecord, CommentRecord]:
    if not isinstance(data, Mapping):
        raise ImportFailure(ORIGIN, location, "a comment must be an object")
    source = scalar_text(data.get("source"), f"{location}.source", ORIGIN)
    if not source:
        raise ImportFailure(ORIGIN, f"{location}.source", 'missing "source"')
    thread_data = data.get("thread")
    if not isinstance(thread_data, Mapping):
        raise ImportFailure(ORIGIN, f"{location}.thread",
                            'needs a "thread" object with its "external_id"')
    record = thread_record({**thread_data, "source": source, "comments": []},
                           f"{location}.thread", ORIGIN)
    author = data.get("author")
    comment = comment_record({**data, "author": None}, None, location, ORIGIN)
    if isinstance(author, Mapping):
        comment.author = scalar_text(author.get("name"), f"{location}.author.name", ORIGIN)
        comment.author_external_id = scalar_text(
            author.get("external_id"), f"{location}.author.external_id", ORIGIN)
        comment.author_email = scalar_text(author.get("email"), f"{location}.author.email",
                                           ORIGIN)
    elif author is not None:
        comment.author = scalar_text(author, f"{location}.author", ORIGIN)
    return (record.source, record.external_id), record, comment


def _error(where: str, reason: str, location: str) -> dict[str, Any]:
    # "comments[3].thread.url" -> field "thread.url" of that item.
    field_name = where.removeprefix(location).lstrip(".")
    error = {"code": "invalid", "message": f"{where}: {reason}"}
    if field_name:
        error["field"] = field_name
    elif ":" in reason:
        error["field"] = reason.split(":", 1)[0]
    return error


def _ingest_group(group: _Group, results: list[ItemResult], authors: AuthorCache) -> None:
    record = group.record
    by_ext: dict[str, _Item] = {}
    for item in group.items:
        ext = item.comment.external_id
        if ext in by_ext:
            results[item.index].error = _error(
                item.location, f"external_id {ext!r} twice in this request "
                               f"(first at {by_ext[ext].location})", item.location)
            continue
        by_ext[ext] = item
    record.comments = [item.comment for item in by_ext.values()]
    record.location = group.items[0].location + ".thread"
    for item in by_ext.values():
        item.comment.location = item.location

    # The importers' boundary: a refused comment is an InvalidRecord naming it.
    checked = list(validated(iter([record]), ORIGIN))
    by_location = {item.location: item for item in by_ext.values()}
    for invalid in (r for r in checked if isinstance(r, InvalidRecord)):
        if invalid.location == record.location:  # the thread itself: all its items
            for item in by_ext.values():
                results[item.index].error = _error(invalid.location, invalid.reason,
                                                   item.location)
            return
        item = by_location.get(invalid.location)
        if item is not None:
            results[item.index].error = _error(item.location, invalid.reason, item.location)
            del by_ext[item.comment.external_id]
    if not by_ext:
        return

    with transaction.atomic():
        stored_thread = (
            Thread.objects.select_for_update()
            .filter(source=record.source, external_id=record.external_id).first()
        )
        before: dict[str, tuple] = {}
        if stored_thread is not None:
            _keep_stored_thread_fields(record, stored_thread)
            for c in Comment.objects.filter(thread=stored_thread, external_id__in=list(by_ext)):
                before[c.external_id] = _snapshot(c)
                if c.source_state != AUTHOR_DELETED:
                    continue
                # Kept as deleted: the import would otherwise copy the item's "".
                by_ext[c.external_id].comment.source_state = AUTHOR_DELETED
                if c.body != by_ext[c.external_id].comment.body:
                    item = by_ext.pop(c.external_id)
                    results[item.index].error = {
                        "code": "conflict",
                        "message": f"{item.location}: comment #{c.pk} was deleted by its "
                                   "author; it takes no more edits",
                    }
        record.comments = [item.comment for item in by_ext.values()]
        if not record.comments:
            return
        try:
            with transaction.atomic():
                thread = thread_import_from_record(record=record, report=ImportReport(),
                                                   path=ORIGIN, authors=authors)
        except ImportFailure as exc:
            for item in by_ext.values():
                results[item.index].error = _error(exc.location, exc.reason, item.location)
            return
        stored = {c.external_id: c for c in Comment.objects.filter(
            thread=thread, external_id__in=list(by_ext)).only(*COMMENT_RESULT_FIELDS)}
    premoderated = sources_premoderated(sources=[record.source])[record.source]
    for ext, item in by_ext.items():
        comment = stored[ext]
        old = before.get(ext)
        status = "created" if old is None else (
            "unchanged" if old == _snapshot(comment) else "updated")
        results[item.index] = ItemResult(
            index=item.index, status=status, comment=comment,
            visible=is_visible(comment.state, premoderated=premoderated),
        )


COMMENT_RESULT_FIELDS = ("id", "thread_id", "external_id", "state", "version", "parent_id",
                         "author_name", "author_id", "created_at", "source_state")


def _snapshot(comment: Comment) -> tuple:
    return tuple(getattr(comment, name) for name in COMMENT_RESULT_FIELDS)


def _keep_stored_thread_fields(record: ThreadRecord, stored: Thread) -> None:
    """A field the item leaves out keeps its stored value (the API sends no `lead`)."""
    stored_values = {"title": stored.title, "url": stored.url, "author": stored.author_name,
                     "published_at": stored.published_at, "lead": stored.lead}
    for name in THREAD_FIELDS:
        if not getattr(record, name) and stored_values[name]:
            setattr(record, name, stored_values[name])
