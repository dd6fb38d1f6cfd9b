"""Ingest: comments the site sends, one or a batch, stored by the importers' own services.

Each item is read by the native format's readers (`thread_record`,
`comment_record`: the same field rules as a native JSONL line), checked at the
importers' one boundary (`validated`), grouped by thread and stored with
`threads_import_from_records`, all the request's threads in one transaction
and a few queries: idempotent on (source, thread, external id), parents found
in the batch or among stored comments, scoring enqueued at commit by the
`comments_changed` signal, exactly as for an import. An item that fails is
reported in its own result (a thread that cannot be placed: its items); the
others land.

Edits: an item sent again with another body is an edit (re-scored, its
version bumped), as `PATCH /comments/{id}` is (`comment_body_edit`).
A comment its author deleted takes no more edits.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction

from moderation.decisions.states import AUTHOR_DELETED, is_visible
from threads.importers import ImportFailure, InvalidRecord, ThreadRecord
from threads.importers.base import CommentRecord, scalar_text
from threads.importers.native import comment_record, thread_record
from threads.importers.validate import validated
from threads.models import Comment, Thread
from threads.services import (
    IN_CHUNK,
    ImportReport,
    threads_import_from_records,
    threads_locked,
)

from .errors import ApiError
from .selectors import sources_premoderated

# What the API calls a request body's origin in an ImportFailure (no file here).
ORIGIN = "request"
# Tries of a thread's savepoint when a concurrent request inserted the same rows.
CONFLICT_ATTEMPTS = 3
THREAD_FIELDS = ("title", "url", "author", "published_at", "lead")


@dataclass
class ItemResult:
    index: int
    status: str = "error"  # created | updated | unchanged | error
    # The stored comment's id, external_id, thread, state, version (RESULT_FIELDS).
    row: dict[str, Any] | None = None
    visible: bool | None = None
    error: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.row is not None:
            out.update(self.row, visible=self.visible)
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
    by_ext: dict[str, _Item] = field(default_factory=dict)  # the items checked, to store


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
    ready = [group for group in groups.values() if _checked(group, results)]
    if not ready:
        return results
    premoderated = sources_premoderated(sources={group.record.source for group in ready})
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            # One transaction for the request's threads: they are locked
            # together, in key order (threads_locked), so two requests whose
            # batches share threads wait for each other instead of deadlocking.
            with transaction.atomic():
                stored = _store_groups(ready, results)
            break
        except (IntegrityError, OperationalError) as exc:
            # Another request created the same new thread or comment first, or
            # PostgreSQL chose this transaction as a deadlock's victim: once the
            # other has committed, these items are found as stored ones.
            retry = isinstance(exc, IntegrityError) or _is_deadlock(exc)
            if not retry or attempt == CONFLICT_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)
    for group in ready:
        before, after = stored.get(id(group), ({}, {}))
        for ext, item in group.by_ext.items():
            row = after.get(ext)
            if row is None:
                continue  # refused: its result already says why
            old = before.get(ext)
            status = "created" if old is None else ("unchanged" if old == row else "updated")
            results[item.index] = ItemResult(
                index=item.index, status=status,
                row={name: row[i] for i, name in enumerate(RESULT_FIELDS)},
                visible=is_visible(row[RESULT_FIELDS.index("state")],
                                   premoderated=premoderated[group.record.source]),
            )
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


def _checked(group: _Group, results: list[ItemResult]) -> bool:
    """Check the group's items by the importers' rules (`validated`); a refused item gets
    its error and leaves the group. Whether any is left to store."""
    record = group.record
    by_ext = group.by_ext
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
            by_ext.clear()
            return False
        item = by_location.get(invalid.location)
        if item is not None:
            results[item.index].error = _error(item.location, invalid.reason, item.location)
            del by_ext[item.comment.external_id]
    return bool(by_ext)


def _is_deadlock(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == "40P01"


Rows = dict[str, tuple]


def _store_groups(groups: list[_Group], results: list[ItemResult]) -> dict[int, tuple[Rows, Rows]]:
    """Store the groups' items; per group (by id()), its rows (SNAPSHOT_FIELDS) before and
    after, by external id.

    An edit of a comment its author deleted is refused (its result says so).
    Rows are read as tuples: model instances would cost more than the import.
    """
    locked = threads_locked(keys=[(g.record.source, g.record.external_id) for g in groups])
    stored_threads = {}
    for group in groups:
        thread = locked.get((group.record.source, group.record.external_id))
        if thread is not None:
            _keep_stored_thread_fields(group.record, thread)
            stored_threads[thread.id] = group
    before = _snapshots(stored_threads)
    deleted = [row[ID] for by_ext in before.values() for row in by_ext.values()
               if row[SOURCE_STATE] == AUTHOR_DELETED]
    for pk, thread_id, ext, body in _bodies(deleted):
        group = stored_threads[thread_id]
        # Kept as deleted: the import would otherwise copy the item's "".
        group.by_ext[ext].comment.source_state = AUTHOR_DELETED
        if body != group.by_ext[ext].comment.body:
            item = group.by_ext.pop(ext)
            results[item.index].error = {
                "code": "conflict",
                "message": f"{item.location}: comment #{pk} was deleted by its "
                           "author; it takes no more edits",
            }
    to_store = [group for group in groups if group.by_ext]
    for group in to_store:
        group.record.comments = [item.comment for item in group.by_ext.values()]
    threads, failures = threads_import_from_records(
        records=[group.record for group in to_store], report=ImportReport(), path=ORIGIN,
        authors={})
    failed = {id(record): exc for record, exc in failures}
    for group in to_store:
        exc = failed.get(id(group.record))
        if exc is not None:
            for item in group.by_ext.values():
                results[item.index].error = _error(exc.location, exc.reason, item.location)
    written = {threads[(g.record.source, g.record.external_id)].id: g for g in to_store
               if id(g.record) not in failed}
    after = _snapshots(written)
    return {id(group): (before.get(thread_id, {}), after[thread_id])
            for thread_id, group in written.items()}


def _snapshots(groups_by_thread: dict[int, _Group]) -> dict[int, Rows]:
    """The stored rows (SNAPSHOT_FIELDS) of these groups' items: thread id -> external id ->
    row."""
    rows: dict[int, Rows] = {thread_id: {} for thread_id in groups_by_thread}
    exts = sorted({ext for group in groups_by_thread.values() for ext in group.by_ext})
    for start in range(0, len(exts), IN_CHUNK):
        for row in Comment.objects.filter(
                thread_id__in=list(groups_by_thread),
                external_id__in=exts[start:start + IN_CHUNK]).values_list(*SNAPSHOT_FIELDS):
            if row[EXTERNAL_ID] in groups_by_thread[row[THREAD_ID]].by_ext:
                rows[row[THREAD_ID]][row[EXTERNAL_ID]] = row
    return rows


def _bodies(ids: list[int]) -> list[tuple[int, int, str, str]]:
    """(id, thread id, external id, body) of these comments."""
    if not ids:
        return []
    return list(Comment.objects.filter(pk__in=ids).values_list(
        "id", "thread_id", "external_id", "body"))


# What a result says of its comment (the first fields), then what tells an edit
# from a request sent again.
RESULT_FIELDS = ("id", "external_id", "thread", "state", "version")
SNAPSHOT_FIELDS = ("id", "external_id", "thread_id", "state", "version", "parent_id",
                   "author_name", "author_id", "created_at", "source_state")
ID = SNAPSHOT_FIELDS.index("id")
EXTERNAL_ID = SNAPSHOT_FIELDS.index("external_id")
THREAD_ID = SNAPSHOT_FIELDS.index("thread_id")
SOURCE_STATE = SNAPSHOT_FIELDS.index("source_state")
STORED_THREAD_FIELDS = ("title", "url", "author_name", "published_at", "lead")


def _keep_stored_thread_fields(record: ThreadRecord, stored: Thread) -> None:
    """A field the item leaves out keeps its stored value (the API sends no `lead`)."""
    for name, column in zip(THREAD_FIELDS, STORED_THREAD_FIELDS, strict=True):
        if not getattr(record, name) and getattr(stored, column):
            setattr(record, name, getattr(stored, column))
