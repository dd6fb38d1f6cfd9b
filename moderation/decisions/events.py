"""The one place events are written: the outbox rows, and their feed positions once committed.

Every state change writes its Event row in the transaction that makes the
change (`decision_event_record`, called by the decision services' one write
path; `comments_imported_event_record`, called when an import commits
comments; `report_event_record`, by the report service), so an event exists
exactly when its change does.

Events are read in `position` order, and a position is given only to rows
already committed (`events_sequence`): a transaction that took its id early
and committed late gets a position after everything sequenced before it,
so a consumer that stores the last position it read misses nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, OuterRef, Subquery
from django.dispatch import Signal
from django.utils import timezone

from moderation.models import (
    Action,
    CommentReport,
    CommentReportSummary,
    Decision,
    Event,
    EventSequencer,
    EventType,
    IngestSource,
)
from threads.bulk import rows_insert
from threads.models import Comment, Thread

from .states import is_visible

logger = logging.getLogger(__name__)

# Sent once after a transaction that wrote events commits (the webhook fan-out listens).
events_committed = Signal()

# Events given positions per sequencing transaction (it holds the sequencer
# row lock meanwhile; the next call continues).
SEQUENCE_CHUNK = 1000
# Comments read per query when an import's events are written.
IMPORT_EVENT_CHUNK = 1000

_DECISION_TYPES = {
    Action.QUEUE: EventType.QUEUED,
    Action.UNQUEUE: EventType.UNQUEUED,
}


# thread id -> (when looked up, pre-moderated?): a branch hide writes an event
# per comment of one thread, and a source's mode changes once in a blue moon.
_MODE_CACHE: dict[int, tuple[float, bool]] = {}
MODE_CACHE_SECONDS = 2.0
MODE_CACHE_SIZE = 1000


def _premoderated(thread_ids: set[int]) -> dict[int, bool]:
    """thread id -> whether its source is pre-moderated (IngestSource, else the default)."""
    now = time.monotonic()
    known = {pk: hit[1] for pk in thread_ids
             if (hit := _MODE_CACHE.get(pk)) is not None and now - hit[0] < MODE_CACHE_SECONDS}
    missing = thread_ids - set(known)
    if missing:
        mode = IngestSource.objects.filter(source=OuterRef("source")).values("moderation")[:1]
        default = settings.API_DEFAULT_MODERATION
        found = {
            pk: (mode or default) == IngestSource.Moderation.PRE
            for pk, mode in Thread.objects.filter(pk__in=missing)
            .annotate(mode=Subquery(mode)).values_list("pk", "mode")
        }
        if len(_MODE_CACHE) > MODE_CACHE_SIZE:
            _MODE_CACHE.clear()
        _MODE_CACHE.update({pk: (now, pre) for pk, pre in found.items()})
        known.update(found)
    return known


# What an event says of its comment (docs/api.md), in this order.
_COMMENT_DATA = ("pk", "external_id", "thread_id", "state", "version", "needs_review")


def _comment_data(comment: Comment) -> dict:
    premoderated = _premoderated({comment.thread_id}).get(comment.thread_id, False)
    return _row_data(tuple(getattr(comment, name) for name in _COMMENT_DATA), premoderated)


def _row_data(row: tuple, premoderated: bool) -> dict:
    pk, external_id, thread_id, state, version, needs_review = row
    return {
        "id": pk,
        "external_id": external_id,
        "thread_id": thread_id,
        "state": state,
        "version": version,
        "needs_review": needs_review,
        "visible": is_visible(state, premoderated=premoderated),
    }


def decision_event_record(*, comment: Comment, decision: Decision) -> Event:
    """The event for a decision just written on this (locked, updated) comment."""
    actor = decision.actor
    data = {
        "comment": _comment_data(comment),
        "decision": {
            "id": decision.pk,
            "action": decision.action,
            "from_state": decision.from_state,
            "to_state": decision.to_state,
            "reason": decision.reason,
            "origin": "moderator" if actor is not None else "system",
            "actor": actor.get_username() if actor is not None else None,
            "top_label": decision.top_label,
            "top_score": decision.top_score,
            "model_key": decision.model_key,
            "threshold": decision.threshold,
        },
    }
    event_type = _DECISION_TYPES.get(decision.action, EventType.STATE_CHANGED)
    return _create(Event(type=event_type, comment=comment, data=data))


def comments_imported_event_record(*, comment_ids: Sequence[int]) -> int:
    """Events for comments an import created (`comment.imported`) or whose text it changed
    (`comment.edited`). Call inside the importing transaction; returns how many.

    An import writes one event per comment it stores, so the rows are read as
    tuples and inserted without an instance per event (`rows_insert`): with
    instances and bulk_create the events took as long as the comments.
    """
    written = 0
    for start in range(0, len(comment_ids), IMPORT_EVENT_CHUNK):
        chunk = comment_ids[start:start + IMPORT_EVENT_CHUNK]
        rows = list(Comment.objects.filter(pk__in=chunk).order_by("pk").values_list(*_COMMENT_DATA))
        modes = _premoderated({row[2] for row in rows})
        rows_insert(Event, ("type", "comment_id", "data"), [
            (EventType.IMPORTED if row[4] == 1 else EventType.EDITED, row[0],
             {"comment": _row_data(row, modes.get(row[2], False)), "origin": "import"})
            for row in rows
        ])
        written += len(rows)
    if written:
        _notify_on_commit()
    return written


def report_event_record(*, report: CommentReport, summary: CommentReportSummary) -> Event:
    """The event for a reader report just stored."""
    comment = report.comment
    data = {
        "comment": _comment_data(comment),
        "report": {
            "id": report.pk,
            "reason": report.reason,
            "count": summary.count,
            "reasons": summary.reasons,
        },
        "origin": "reader",
    }
    return _create(Event(type=EventType.REPORT_RECEIVED, comment=comment, data=data))


def _create(event: Event) -> Event:
    event.save(force_insert=True)
    _notify_on_commit()
    return event


def _notify_on_commit() -> None:
    """Once per transaction: when it commits, tell the webhook fan-out there is news."""
    if connection.in_atomic_block and any(
        func is _notify for _, func, _ in connection.run_on_commit
    ):
        return
    transaction.on_commit(_notify)


def _notify() -> None:
    events_committed.send(sender=Event)


def events_sequence(*, limit: int | None = None) -> int:
    """Give the oldest committed events without a position the next positions; returns how many.

    Under the EventSequencer row lock, so sequencers take turns and each
    one's positions start above the last one's. Rows of transactions not yet
    committed are invisible here and wait for a later call: that is what
    keeps a late commit from landing behind a consumer's cursor.
    """
    limit = limit or SEQUENCE_CHUNK
    if not events_unsequenced():
        return 0
    with transaction.atomic():
        sequencer = EventSequencer.objects.select_for_update().filter(pk=1).first()
        if sequencer is None:
            EventSequencer.objects.bulk_create([EventSequencer(pk=1)], ignore_conflicts=True)
            sequencer = EventSequencer.objects.select_for_update().get(pk=1)
        ids = list(Event.objects.filter(position__isnull=True).order_by("id")
                   .values_list("id", flat=True)[:limit])
        if not ids:
            return 0
        now = timezone.now()
        base = sequencer.last_position
        table = connection.ops.quote_name(Event._meta.db_table)
        stamp = connection.ops.adapt_datetimefield_value(now)
        with connection.cursor() as cursor:
            # One short statement per row: cheaper than one CASE over the chunk.
            cursor.executemany(
                f"UPDATE {table} SET position = %s, sequenced_at = %s WHERE id = %s",
                [(base + n, stamp, pk) for n, pk in enumerate(ids, start=1)],
            )
        EventSequencer.objects.filter(pk=1).update(last_position=F("last_position") + len(ids))
    return len(ids)


def events_unsequenced() -> bool:
    """Whether committed events wait for a position (a feed read should come back soon)."""
    return Event.objects.filter(position__isnull=True).exists()


def events_sequence_all() -> int:
    """Sequence until nothing committed is left without a position."""
    total = 0
    while True:
        done = events_sequence()
        total += done
        if done < SEQUENCE_CHUNK or not done:
            return total
