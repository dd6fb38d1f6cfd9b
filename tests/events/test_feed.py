"""The decisions feed: every state change has its event, in an order a cursor can follow."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from moderation.decisions.events import events_sequence, events_sequence_all
from moderation.decisions.services import (
    MlContext,
    comment_action_apply,
    comment_review_mark,
    comments_bulk_action_apply,
)
from moderation.events.selectors import event_json, event_threads, events_page, feed_horizon
from moderation.models import Event, EventType
from tests.helpers import CommentFactory, ModeratorFactory

pytestmark = pytest.mark.django_db


def read_all(after: int = 0, **kwargs) -> tuple[list[Event], int]:
    events_sequence_all()
    seen, cursor = [], after
    while True:
        page = events_page(after=cursor, limit=2, **kwargs)
        seen += page.events
        cursor = page.next_cursor
        if not page.has_more:
            return seen, cursor


def test_each_decision_writes_one_event_with_the_state_it_left(moderator):
    comment = CommentFactory()
    comment_review_mark(comment=comment, needs_review=True, ml=MlContext("insult", 0.9, "m", 0.5))
    comment_action_apply(comment=comment, action="hide", actor=moderator, reason="harassment")
    comment_action_apply(comment=comment, action="restore", actor=moderator)
    events, cursor = read_all()
    assert [e.type for e in events] == [EventType.QUEUED, EventType.STATE_CHANGED,
                                        EventType.STATE_CHANGED]
    assert [e.position for e in events] == [1, 2, 3] and cursor == 3
    hide = event_json(events[1], event_threads(events))
    assert hide["type"] == "comment.state_changed"
    assert hide["data"]["comment"]["state"] == "hidden"
    assert hide["data"]["comment"]["visible"] is False
    assert hide["data"]["comment"]["version"] == 3
    assert hide["data"]["comment"]["thread"]["external_id"] == comment.thread.external_id
    assert hide["data"]["decision"] == {
        **hide["data"]["decision"], "action": "hide", "from_state": "pending",
        "to_state": "hidden", "reason": "harassment", "origin": "moderator", "actor": "mod"}
    assert events[0].data["decision"]["origin"] == "system"
    assert event_json(events[2], {})["data"]["comment"]["visible"] is True


def test_a_refused_or_rolled_back_change_leaves_no_event(moderator):
    comment = CommentFactory()
    result = comments_bulk_action_apply(comment_ids=[comment.pk], action="restore",
                                        actor=moderator)
    assert result.refused
    with pytest.raises(RuntimeError), transaction.atomic():
        comment_action_apply(comment=comment, action="hide", actor=moderator)
        raise RuntimeError("rolled back")
    assert not Event.objects.exists()


def test_a_branch_hide_writes_an_event_per_comment_hidden(make_thread, moderator):
    root = CommentFactory()
    replies = [CommentFactory(thread=root.thread, parent=root) for _ in range(3)]
    comments_bulk_action_apply(comment_ids=[root.pk], action="hide_branch", actor=moderator)
    events, _ = read_all()
    assert sorted(e.comment_id for e in events) == sorted([root.pk, *[r.pk for r in replies]])


def test_imports_write_imported_and_edited_events(import_json):
    doc = {"threads": [{"external_id": "t", "title": "T", "comments": [
        {"external_id": "a", "body": "first"}, {"external_id": "b", "body": "second"}]}]}
    import_json(doc)
    doc["threads"][0]["comments"][1]["body"] = "second, edited"
    import_json(doc, name="again.json")
    events, _ = read_all()
    assert [(e.type, e.data["comment"]["external_id"]) for e in events] == [
        (EventType.IMPORTED, "a"), (EventType.IMPORTED, "b"), (EventType.EDITED, "b")]
    assert events[0].data["origin"] == "import"
    assert events[2].data["comment"]["version"] == 2


def test_type_filter_moves_the_cursor_past_other_events(moderator):
    comment = CommentFactory()
    comment_review_mark(comment=comment, needs_review=True, ml=MlContext())
    comment_action_apply(comment=comment, action="approve", actor=moderator)
    comment_review_mark(comment=CommentFactory(), needs_review=True, ml=MlContext())
    events, cursor = read_all(types=["comment.state_changed"])
    assert [e.type for e in events] == ["comment.state_changed"]
    assert cursor == feed_horizon() == 3


def test_sequencing_is_chunked_and_positions_never_repeat(moderator, monkeypatch):
    for _ in range(5):
        comment_review_mark(comment=CommentFactory(), needs_review=True, ml=MlContext())
    assert events_sequence(limit=2) == 2
    assert events_sequence(limit=2) == 2
    assert events_sequence(limit=2) == 1
    assert events_sequence() == 0
    assert sorted(Event.objects.values_list("position", flat=True)) == [1, 2, 3, 4, 5]


postgres_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="SQLite's writers hold the database lock from BEGIN to COMMIT: ids follow commits",
)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_transaction_that_committed_late_is_not_missed_by_a_cursor():
    """Event ids are taken at insert, positions at sequencing: a lower id that commits
    after a higher one comes later in the feed, never behind a consumer's cursor."""
    moderator = ModeratorFactory(username="late")
    early, later = CommentFactory(), CommentFactory()
    inserted, release = threading.Event(), threading.Event()

    def slow_transaction() -> None:
        try:
            with transaction.atomic():
                comment_action_apply(comment=early.pk, action="hide", actor=moderator)
                inserted.set()
                release.wait(30)
        finally:
            connection.close()

    slow = threading.Thread(target=slow_transaction)
    slow.start()
    assert inserted.wait(30)
    comment_action_apply(comment=later.pk, action="hide", actor=moderator)
    # The slow transaction's row (the lower id) is not visible yet; the fast one is.
    assert list(Event.objects.values_list("comment_id", flat=True)) == [later.pk]

    events_sequence_all()
    first = events_page(after=0)
    assert [e.comment_id for e in first.events] == [later.pk]
    cursor = first.next_cursor

    release.set()
    slow.join()
    events_sequence_all()
    second = events_page(after=cursor)
    assert [e.comment_id for e in second.events] == [early.pk]
    assert second.events[0].id < first.events[0].id  # the lower id, later in the feed
    assert second.events[0].position > cursor
    everything, _ = read_all()
    assert sorted(e.comment_id for e in everything) == sorted([early.pk, later.pk])


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_sequencers_give_each_event_one_position():
    for _ in range(40):
        comment_review_mark(comment=CommentFactory(), needs_review=True, ml=MlContext())
    errors = []

    def sequence() -> None:
        try:
            while events_sequence(limit=3):
                pass
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sequence) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(Event.objects.values_list("position", flat=True)) == list(range(1, 41))
