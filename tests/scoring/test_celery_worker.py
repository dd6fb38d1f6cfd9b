"""A real Celery worker (prefork, its own queue) on the real Redis (DB 5).

The worker is another process: it reads the test database by name, so these
tests commit (transaction=True) and the SQLite test database is a file.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from moderation.models import Action, Decision, ToxicityScore
from moderation.scoring.pipeline import scoring_publish_batches
from moderation.scoring.registry import scorer_choice
from moderation.scoring.tasks import sweep_unscored_task
from tests.helpers import CeleryWorker, child_database_url, point_celery_app, row_lock_held
from threads.models import Comment

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BROKER = "redis://127.0.0.1:6379/5"


@pytest.fixture
def worker(settings, use_tiny_detoxify, tmp_path):
    from config.celery import app

    checkpoint, hf_dir = use_tiny_detoxify
    queue = f"tk-test-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "SECRET_KEY": "test-worker", "DEBUG": "0", "DATABASE_URL": child_database_url(),
        "CELERY_BROKER_URL": BROKER, "CELERY_TASK_DEFAULT_QUEUE": queue,
        "SCORER": "detoxify", "DETOXIFY_CHECKPOINT": str(checkpoint),
        "DETOXIFY_HF_CONFIG": str(hf_dir), "SCORING_AUTO_ENQUEUE": "0",
        "HF_HUB_OFFLINE": "1", "LOG_LEVEL": "DEBUG", "SCORING_TASK_BATCH": "16",
    }
    saved = (app.conf.broker_url, app.conf.task_default_queue)
    point_celery_app(BROKER, queue)
    settings.SCORING_TASK_BATCH = 16
    w = CeleryWorker(queue, env, tmp_path / "worker.log")
    w.start()
    w.wait_for_log("ready.")
    yield w
    w.stop()
    import redis

    redis.Redis.from_url(BROKER).delete(queue, f"{queue}.unacked")
    point_celery_app(*saved)


def _import(bodies: list[str], external_id: str) -> list[int]:
    import json
    import tempfile

    from threads.services import threads_import_from_file

    document = {"threads": [{"external_id": external_id, "comments": [
        {"external_id": f"c{i}", "body": body} for i, body in enumerate(bodies)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(document, handle)
    threads_import_from_file(path=Path(handle.name))
    os.unlink(handle.name)
    return list(Comment.objects.filter(thread__external_id=external_id)
                .order_by("pk").values_list("pk", flat=True))


def _wait_scored(ids: list[int], key: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = ToxicityScore.objects.filter(comment_id__in=ids, model_key=key).count()
        if done == len(ids):
            return
        time.sleep(0.2)
    raise AssertionError(f"only {done} of {len(ids)} comments scored")


def _assert_scored_exactly_once(ids: list[int], key: str) -> None:
    rows = Counter(ToxicityScore.objects.filter(comment_id__in=ids)
                   .values_list("comment_id", "model_key"))
    assert set(rows) == {(pk, key) for pk in ids} and set(rows.values()) == {1}
    for comment in Comment.objects.filter(pk__in=ids):
        score = ToxicityScore.objects.get(comment=comment, model_key=key)
        assert score.content_hash == comment.content_hash
        assert comment.toxicity == pytest.approx(score.top_score)
    queued = Counter(Decision.objects.filter(comment_id__in=ids, action=Action.QUEUE)
                     .values_list("comment_id", flat=True))
    assert all(n == 1 for n in queued.values())  # no decision doubled
    assert set(queued) == set(
        Comment.objects.filter(pk__in=ids, needs_review=True).values_list("pk", flat=True)
    )


BODIES = [f"comment {i}: you are an idiot" if i % 3 == 0 else f"hello friend {i} 😀 привет"
          for i in range(40)]


def test_import_enqueues_and_the_worker_scores_every_comment(worker, settings):
    settings.SCORING_AUTO_ENQUEUE = True
    ids = _import(BODIES, "celery-import")
    key = scorer_choice().key
    _wait_scored(ids, key)
    _assert_scored_exactly_once(ids, key)


def test_redis_down_during_import_then_the_sweep_scores_everything(worker, settings, caplog):
    settings.SCORING_AUTO_ENQUEUE = True
    point_celery_app("redis://127.0.0.1:1/5", worker.queue)  # the broker is down
    ids = _import(BODIES, "celery-outage")
    assert "the periodic sweep will score them" in caplog.text
    key = scorer_choice().key
    assert not ToxicityScore.objects.filter(comment_id__in=ids).exists()

    point_celery_app(BROKER, worker.queue)  # the broker is back
    assert sweep_unscored_task() == len(ids)
    _wait_scored(ids, key)
    _assert_scored_exactly_once(ids, key)
    assert sweep_unscored_task() == 0


def test_worker_killed_mid_batch_loses_and_doubles_nothing(worker):
    ids = _import(BODIES, "celery-kill")
    key = scorer_choice().key

    # Hold the database write lock (SQLite) / the first row's lock (PostgreSQL)
    # so the worker's batch blocks in its write transaction; kill it there.
    with row_lock_held(Comment, ids[0], touch={"author_name": "held"}):
        assert scoring_publish_batches(ids, batch_size=len(ids)) == len(ids)
        worker.wait_for_log("; writing")
        time.sleep(0.5)  # now waiting on the lock
        worker.kill_child()
        worker.wait_for_log("WorkerLostError")
    assert not ToxicityScore.objects.filter(comment_id__in=ids).exists()

    # acks_late + reject_on_worker_lost: the message comes back to a new child.
    _wait_scored(ids, key)
    _assert_scored_exactly_once(ids, key)
    # The sweep finds nothing left, and a duplicate message changes nothing.
    assert sweep_unscored_task() == 0
    assert scoring_publish_batches(ids, batch_size=len(ids)) == len(ids)
    worker.wait_for_log("scored 0, skipped 40")
    _assert_scored_exactly_once(ids, key)
