"""A large score-band batch run by a real Celery worker on the real Redis, and undone whole."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from moderation.models import BranchHideJob, Decision
from threads.models import Comment

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def wait_finished(job_id: int, timeout: float = 120) -> BranchHideJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = BranchHideJob.objects.get(pk=job_id)
        if job.finished:
            return job
        time.sleep(0.1)
    raise AssertionError(f"batch job {job_id} did not finish")


def test_a_large_band_is_hidden_by_the_worker_and_undone_whole(
        settings, moderator_client, big_branch, branch_job_worker):
    settings.BRANCH_HIDE_SYNC_MAX = 100
    _, ids, outside = big_branch
    Comment.objects.filter(pk__in=ids).update(toxicity=0.9, toxicity_label="toxicity")
    html = moderator_client.post(reverse("moderation:band_act"), {
        "tab": "all", "lo": "0.8", "hi": "1", "band_action": "hide", "reason": "spam",
        "expected": str(len(ids))}).content.decode()
    assert "Hiding 1,200 comments in the background" in html
    assert 'hx-trigger="every 2s"' in html  # the progress polls itself
    job = wait_finished(BranchHideJob.objects.get(kind="batch").pk)
    assert (job.state, job.changed) == ("done", 1200)
    assert Decision.objects.filter(branch_job=job).count() == 1200
    assert Comment.objects.get(pk=outside.pk).state == "pending"
    progress = moderator_client.get(reverse("moderation:branch_job", args=[job.pk]),
                                    {"ctx": "queue", "tab": "all"}).content.decode()
    assert "Hid 1,200 of 1,200" in progress and "Undo batch" in progress

    undone = moderator_client.post(reverse("moderation:undo"), {"tab": "all"}).content.decode()
    assert "Restoring 1,200 comments in the background" in undone
    undo = wait_finished(BranchHideJob.objects.get(undoes=job).pk)
    assert (undo.state, undo.changed) == ("done", 1200)
    assert set(Comment.objects.filter(pk__in=ids).values_list("state", flat=True)) == {"pending"}
