"""Reads of the decisions feed: a page of events after a cursor, and their JSON.

The feed and every webhook carry the same JSON for an event (`event_json`),
in the Standard Webhooks payload shape: `type`, `timestamp`, `data`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from moderation.models import Event, EventSequencer
from threads.models import Thread

MAX_PAGE = 1000
DEFAULT_PAGE = 100


@dataclass
class EventPage:
    events: list[Event]
    # The cursor to ask with next: the last position on this page (or the one asked with).
    next_cursor: int
    has_more: bool
    threads: dict[int, Thread]


def events_page(*, after: int = 0, limit: int = DEFAULT_PAGE,
                types: Sequence[str] | None = None) -> EventPage:
    """Sequenced events with a position above `after`, in position order (two queries).

    Call `events_sequence` first to include what committed since the last
    sequencing. With `types`, other events are skipped but the cursor still
    moves past them, so a filtered consumer never reads the same page twice.
    """
    limit = max(1, min(limit, MAX_PAGE))
    # The horizon first: every position at or below it is committed, so the
    # query below sees all of them, and a filtered read may skip up to it.
    horizon = feed_horizon()
    rows = Event.objects.filter(position__gt=after, position__lte=horizon).order_by("position")
    if types:
        rows = rows.filter(type__in=list(types))
    events = list(rows[: limit + 1])
    has_more = len(events) > limit
    events = events[:limit]
    # The last page so far ends at the horizon: a filtered read skips the
    # other types' events up to it, so it is never read again.
    next_cursor = events[-1].position if has_more else max(after, horizon)
    return EventPage(events=events, next_cursor=next_cursor, has_more=has_more,
                     threads=event_threads(events))


def feed_horizon() -> int:
    """The highest position given so far: everything at or below it is in the feed for good."""
    row = EventSequencer.objects.filter(pk=1).values_list("last_position", flat=True).first()
    return row or 0


def event_threads(events: Sequence[Event]) -> dict[int, Thread]:
    ids = {e.data.get("comment", {}).get("thread_id") for e in events} - {None}
    if not ids:
        return {}
    return {t.pk: t for t in Thread.objects.filter(pk__in=ids)
            .only("pk", "source", "external_id", "url")}


def event_json(event: Event, threads: dict[int, Thread]) -> dict:
    """One event as the feed and the webhooks send it."""
    data = dict(event.data)
    comment = dict(data.get("comment") or {})
    thread = threads.get(comment.pop("thread_id", None))
    if thread is not None:
        comment["thread"] = {"id": thread.pk, "source": thread.source,
                             "external_id": thread.external_id}
    data["comment"] = comment
    return {
        "id": event.pk,
        "position": event.position,
        "type": event.type,
        "timestamp": event.created_at.isoformat(),
        "data": data,
    }
