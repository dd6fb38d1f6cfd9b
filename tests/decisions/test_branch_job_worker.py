"""A big branch hide run by a real Celery worker (prefork, its own queue) on the real Redis.

The worker is another process reading the test database by name, so these
tests commit (transaction=True). To kill it mid-job deterministically, the
test takes the job's lock (PostgreSQL: the job row; SQLite: the database
write lock) after the first chunks, waits until the worker is blocked in its
next chunk, and kills it there.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.urls import reverse

from moderation.decisions.services import branch_jobs_resume_stalled
from moderation.models import Action, BranchHideJob, Decision
from tests.helpers import branch_thread_document, row_lock_held
from threads.models import Comment

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SIZE = 4000


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def job_locked(job: BranchHideJob):
    """Hold the lock every chunk of this job takes first, from another connection."""
    return row_lock_held(BranchHideJob, job.pk, touch={"error": ""})


def start_big_hide(import_json, client) -> tuple[BranchHideJob, list[int], float, str]:
    import_json({"threads": [branch_thread_document("w", SIZE)]}, name="w.json")
    ids = list(Comment.objects.filter(thread__external_id="w").exclude(external_id="w-outside")
               .order_by("path").values_list("pk", flat=True))
    root = Comment.objects.get(pk=ids[0])
    started = time.monotonic()
    html = client.post(reverse("moderation:act"), {
        "action": "hide_branch", "comment": root.pk, "version": root.version,
        "ctx": "thread", "reason": "spam"}).content.decode()
    return BranchHideJob.objects.get(), ids, time.monotonic() - started, html


def kill_mid_chunk(worker, job: BranchHideJob, client, kill: Callable[[], None]) -> None:
    """Let a chunk or two commit, then block the worker in its next chunk and kill it."""
    wait_for(lambda: BranchHideJob.objects.get(pk=job.pk).done > 1, "the first chunk")
    attempts = worker.log_count(f"branch job {job.pk}: next chunk")
    with job_locked(job):
        running = BranchHideJob.objects.get(pk=job.pk)
        assert running.state == "running" and 1 < running.done < SIZE
        # The moderator's page shows the progress meanwhile.
        html = client.get(reverse("moderation:branch_job", args=[job.pk]),
                          {"ctx": "thread"}).content.decode()
        assert f"{running.done:,} of {SIZE:,}" in html and 'hx-trigger="every 2s"' in html
        wait_for(lambda: worker.log_count(f"branch job {job.pk}: next chunk") > attempts,
                 "the worker to start its next chunk")
        time.sleep(0.5)  # now waiting on the lock, its transaction begun
        kill()


def assert_hidden_exactly_once(job: BranchHideJob, ids: list[int]) -> None:
    job.refresh_from_db()
    assert (job.state, job.done, job.changed) == ("done", SIZE, SIZE)
    hides = Counter(Decision.objects.filter(comment_id__in=ids, action=Action.HIDE)
                    .values_list("comment_id", flat=True))
    assert set(hides) == set(ids) and set(hides.values()) == {1}  # none twice, none missing
    assert Decision.objects.filter(branch_job=job).count() == SIZE
    assert set(Comment.objects.filter(pk__in=ids).values_list("state", flat=True)) == {"hidden"}
    assert Comment.objects.get(external_id="w-outside").state == "pending"


def test_worker_child_killed_mid_job_and_restarted_finishes_it_exactly_once(
        settings, moderator_client, import_json, branch_job_worker):
    settings.BRANCH_HIDE_SYNC_MAX = 100
    job, ids, elapsed, html = start_big_hide(import_json, moderator_client)
    assert "Hiding 4,000 comments in the background…" in html
    assert elapsed < 5, f"the request took {elapsed:.1f} s"

    kill_mid_chunk(branch_job_worker, job, moderator_client, branch_job_worker.kill_child)
    branch_job_worker.wait_for_log("WorkerLostError")
    # acks_late + reject_on_worker_lost: the message comes back to the new child,
    # which continues after the last committed chunk.
    wait_for(lambda: BranchHideJob.objects.get(pk=job.pk).finished, "the job to finish")
    assert_hidden_exactly_once(job, ids)
    html = moderator_client.get(reverse("moderation:branch_job", args=[job.pk]),
                                {"ctx": "thread"}).content.decode()
    assert "Hid 4,000 comments in the branch of" in html and "Restore branch" in html


def test_whole_worker_killed_then_the_sweep_resumes_the_job_exactly_once(
        settings, moderator_client, import_json, branch_job_worker):
    settings.BRANCH_HIDE_SYNC_MAX = 100
    job, ids, elapsed, html = start_big_hide(import_json, moderator_client)
    kill_mid_chunk(branch_job_worker, job, moderator_client, branch_job_worker.kill)
    # Its message sits unacknowledged in Redis until the visibility timeout;
    # the sweep (here without its five-minute wait) sends the job again.
    ready = branch_job_worker.log_count("ready.")
    branch_job_worker.start()
    wait_for(lambda: branch_job_worker.log_count("ready.") > ready, "the new worker", 60)
    assert branch_jobs_resume_stalled(stalled_after=timedelta(0)) == 1
    wait_for(lambda: BranchHideJob.objects.get(pk=job.pk).finished, "the job to finish")
    assert_hidden_exactly_once(job, ids)
