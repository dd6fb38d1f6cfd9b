"""Two moderators act on one comment at the same moment: exactly one wins.

Real PostgreSQL, real transactions on two connections (one per thread).
SQLite is skipped: pytest-django's SQLite test database is a shared-cache
in-memory one, where a second writer fails at once with "table is locked"
instead of waiting, which tests SQLite's cache, not our code. (On a file
database Threadkeeper's IMMEDIATE transactions serialise writers.)
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction  # noqa: F401 (skipif)

from moderation.decisions import services
from moderation.models import Decision
from tests.helpers import CommentFactory, ModeratorFactory
from threads.models import Comment

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "connection.vendor != 'postgresql'",
        reason="needs row locks across connections (PostgreSQL)",
    ),
]


def _in_thread(target, results, key):
    def run():
        try:
            results[key] = target()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[key] = exc
        finally:
            connections.close_all()

    return threading.Thread(target=run)


def _another_session_waits_on_a_lock(timeout: float) -> bool:
    """Poll pg_stat_activity until some other backend of this database waits on a lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # Inside a transaction the activity view is a snapshot taken at the
            # first read; clear it so each poll sees the present.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


def test_second_moderator_waits_for_the_lock_then_gets_stale():
    """A holds the row lock; B must block, then see A's version and be refused."""
    comment = CommentFactory()
    alice, bob = ModeratorFactory(username="alice"), ModeratorFactory(username="bob")
    a_has_lock = threading.Event()
    results: dict[str, object] = {}

    def alice_hides():
        with transaction.atomic():
            decision = services.comment_action_apply(action="hide", comment=comment.pk, actor=alice,
                                             expected_version=1)
            a_has_lock.set()
            # Commit only once PostgreSQL shows B waiting on a lock: B has then
            # read nothing yet and is queued behind A's row lock.
            results["bob_blocked"] = _another_session_waits_on_a_lock(timeout=10)
        return decision

    def bob_approves():
        a_has_lock.wait(5)
        return services.comment_action_apply(action="approve", comment=comment.pk, actor=bob,
                                             expected_version=1)

    threads = [_in_thread(alice_hides, results, "alice"), _in_thread(bob_approves, results, "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert isinstance(results["alice"], Decision)
    assert isinstance(results["bob"], services.StaleDecision), results["bob"]
    assert "alice hide it" in str(results["bob"])
    # Bob really was held by the lock (he could not have read version 1 and won).
    assert results["bob_blocked"] is True
    assert Decision.objects.count() == 1
    stored = Comment.objects.get(pk=comment.pk)
    assert (stored.state, stored.version) == (Comment.State.HIDDEN, 2)


@pytest.mark.parametrize("round_", range(3))
def test_simultaneous_actions_exactly_one_wins(round_):
    comment = CommentFactory()
    moderators = [ModeratorFactory(), ModeratorFactory()]
    barrier = threading.Barrier(2)
    results: dict[int, object] = {}

    def act(moderator, action):
        def run():
            barrier.wait(5)
            return services.comment_action_apply(comment=comment.pk, action=action, actor=moderator,
                                        expected_version=1)
        return run

    threads = [
        _in_thread(act(moderators[0], "hide"), results, 0),
        _in_thread(act(moderators[1], "flag"), results, 1),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    outcomes = sorted(type(r).__name__ for r in results.values())
    assert outcomes == ["Decision", "StaleDecision"], results
    assert Decision.objects.count() == 1
    winner = next(r for r in results.values() if isinstance(r, Decision))
    assert Comment.objects.get(pk=comment.pk).state == winner.to_state

