"""Branch hides too large for one request: a BranchHideJob run in chunks, resumable, undoable.

The jobs run in this process here (the services a worker calls); the real
worker, killed mid-job, is in test_branch_job_worker.py.
"""

from __future__ import annotations

import base64
import json
import logging
from collections import Counter
from datetime import timedelta

import pytest
import redis
from django.db import transaction
from django.utils import timezone

from moderation.decisions.services import (
    BRANCH_JOB_CHUNK,
    ModerationError,
    StaleDecision,
    branch_job_fail,
    branch_job_run,
    branch_job_undo_start,
    branch_jobs_resume_stalled,
    comment_action_apply,
    comments_bulk_action_apply,
)
from moderation.decisions.states import HIDE_BRANCH
from moderation.models import Action, BranchHideJob, Decision
from tests.conftest import BRANCH_JOB_BROKER
from tests.helpers import CommentFactory, ModeratorFactory, point_celery_app
from threads.models import Comment

pytestmark = pytest.mark.django_db
State = Comment.State


def hide_big_branch(root, moderator, **kwargs):
    return comments_bulk_action_apply(comment_ids=[root.pk], action=HIDE_BRANCH,
                                      actor=moderator, reason="spam", note="brigade", **kwargs)


def hides_per_comment(ids):
    return Counter(Decision.objects.filter(comment_id__in=ids, action=Action.HIDE)
                   .values_list("comment_id", flat=True))


def test_a_branch_up_to_the_limit_is_hidden_in_the_request(settings, moderator):
    settings.BRANCH_HIDE_SYNC_MAX = 3
    root = CommentFactory()
    CommentFactory(parent=root), CommentFactory(parent=root)
    result = hide_big_branch(root, moderator)
    assert len(result.decisions) == 3 and result.jobs == []
    assert not BranchHideJob.objects.exists()


def test_a_larger_branch_becomes_a_job_with_only_the_clicked_comment_hidden(
        settings, moderator, big_branch):
    settings.BRANCH_HIDE_SYNC_MAX = 100
    root, ids, outside = big_branch
    result = hide_big_branch(root, moderator, expected_versions={root.pk: 1})
    (job,) = result.jobs
    assert result.decisions == [] and result.refused == []
    assert (job.state, job.total, job.done, job.changed) == ("queued", 1200, 1, 1)
    assert (job.actor, job.reason, job.note, job.last_path) == (moderator, "spam", "brigade",
                                                                 root.path)
    (decision,) = Decision.objects.all()
    assert (decision.comment_id, decision.branch_job) == (root.pk, job)
    assert Comment.objects.filter(state=State.HIDDEN).count() == 1


def test_the_version_check_is_on_the_clicked_comment_at_the_start(settings, moderator,
                                                                   big_branch):
    settings.BRANCH_HIDE_SYNC_MAX = 100
    root, ids, outside = big_branch
    result = hide_big_branch(root, moderator, expected_versions={root.pk: 7})
    assert isinstance(result.refused[0], StaleDecision)
    assert not BranchHideJob.objects.exists() and not Decision.objects.exists()


def test_the_job_hides_chunk_by_chunk_one_decision_per_comment(settings, moderator, big_branch):
    settings.BRANCH_HIDE_SYNC_MAX = 100
    root, ids, outside = big_branch
    already = Comment.objects.get(pk=ids[700])
    comment_action_apply(comment=already, action="hide", actor=ModeratorFactory())
    (job,) = hide_big_branch(root, moderator).jobs

    job = branch_job_run(job_id=job.pk, max_chunks=1)
    assert (job.state, job.done, job.changed) == ("running", 1 + BRANCH_JOB_CHUNK,
                                                  1 + BRANCH_JOB_CHUNK)
    assert job.last_path == Comment.objects.get(pk=ids[BRANCH_JOB_CHUNK]).path
    assert Comment.objects.filter(pk__in=ids, state=State.HIDDEN).count() == 2 + BRANCH_JOB_CHUNK

    job = branch_job_run(job_id=job.pk)
    assert (job.state, job.done, job.changed) == ("done", 1200, 1199)
    assert job.finished_at is not None
    assert set(Comment.objects.filter(pk__in=ids).values_list("state", flat=True)) == {"hidden"}
    assert Comment.objects.get(pk=outside.pk).state == State.PENDING
    counts = hides_per_comment(ids)
    assert set(counts) == set(ids) and set(counts.values()) == {1}
    mine = Decision.objects.filter(branch_job=job)
    assert mine.count() == 1199 and already.pk not in set(mine.values_list("comment_id",
                                                                           flat=True))
    assert set(mine.values_list("actor", "reason", "note")) == {(moderator.pk, "spam", "brigade")}
    # Running a finished job again (a redelivered message) writes nothing.
    branch_job_run(job_id=job.pk)
    assert Decision.objects.filter(branch_job=job).count() == 1199


def test_a_chunk_that_rolls_back_takes_its_progress_with_it(settings, moderator, big_branch):
    settings.BRANCH_HIDE_SYNC_MAX = 100
    root, ids, outside = big_branch
    (job,) = hide_big_branch(root, moderator).jobs
    branch_job_run(job_id=job.pk, max_chunks=1)
    with pytest.raises(RuntimeError), transaction.atomic():
        branch_job_run(job_id=job.pk, max_chunks=2)
        raise RuntimeError("the worker died here")
    job.refresh_from_db()
    assert job.done == 1 + BRANCH_JOB_CHUNK
    assert Decision.objects.count() == 1 + BRANCH_JOB_CHUNK

    branch_job_run(job_id=job.pk)
    counts = hides_per_comment(ids)
    assert set(counts) == set(ids) and set(counts.values()) == {1}


def test_undo_puts_back_exactly_what_the_job_hid(settings, moderator, big_branch):
    settings.BRANCH_HIDE_SYNC_MAX = 100
    root, ids, outside = big_branch
    flagged, hidden_before, acted_on_since = ids[10], ids[20], ids[30]
    comment_action_apply(comment=flagged, action="flag", actor=moderator)
    comment_action_apply(comment=hidden_before, action="hide", actor=moderator)
    (job,) = hide_big_branch(root, moderator).jobs

    with pytest.raises(ModerationError, match="still queued"):
        branch_job_undo_start(job=job, actor=moderator)
    branch_job_run(job_id=job.pk)
    comment_action_apply(comment=acted_on_since, action="restore", actor=moderator)
    with pytest.raises(ModerationError, match="only the moderator who hid the branch"):
        branch_job_undo_start(job=job, actor=ModeratorFactory())

    settings.BRANCH_HIDE_SYNC_MAX = 5000  # small enough to undo within the call
    undo = branch_job_undo_start(job=job, actor=moderator)
    assert (undo.kind, undo.state, undo.total, undo.changed) == ("undo", "done", 1199, 1198)
    states = dict(Comment.objects.filter(pk__in=ids).values_list("pk", "state"))
    assert states.pop(flagged) == State.FLAGGED
    assert states.pop(hidden_before) == State.HIDDEN
    assert states.pop(acted_on_since) == State.APPROVED
    assert set(states.values()) == {State.PENDING}
    undos = Decision.objects.filter(branch_job=undo)
    assert undos.count() == 1198 and set(undos.values_list("action", flat=True)) == {"undo"}
    # Asking again returns the same undo; an undo is not undone this way.
    assert branch_job_undo_start(job=job, actor=moderator) == undo
    with pytest.raises(ModerationError, match="itself an undo"):
        branch_job_undo_start(job=undo, actor=moderator)


def test_a_large_undo_is_a_job_too(settings, moderator, big_branch):
    settings.BRANCH_HIDE_SYNC_MAX = 100
    root, ids, outside = big_branch
    (job,) = hide_big_branch(root, moderator).jobs
    branch_job_run(job_id=job.pk)
    undo = branch_job_undo_start(job=job, actor=moderator)
    assert (undo.state, undo.done) == ("queued", 0)
    branch_job_run(job_id=undo.pk)
    assert set(Comment.objects.filter(pk__in=ids).values_list("state", flat=True)) == {"pending"}


def queued_job_ids(queue: str) -> list[int]:
    """The job id of each task message waiting in the queue (Celery protocol 2 bodies)."""
    ids = []
    for raw in redis.Redis.from_url(BRANCH_JOB_BROKER).lrange(queue, 0, -1):
        args, _kwargs, _embed = json.loads(base64.b64decode(json.loads(raw)["body"]))
        ids.append(args[0])
    return ids


def test_the_sweep_sends_stalled_jobs_again(settings, moderator, big_branch, branch_job_queue):
    settings.BRANCH_HIDE_SYNC_MAX = 100
    root, ids, outside = big_branch
    stalled, fresh, failed, finished = (
        BranchHideJob.objects.create(root=root, actor=moderator, state=state)
        for state in ("running", "queued", "queued", "done")
    )
    branch_job_fail(job_id=failed.pk, error="RuntimeError: boom")
    long_ago = timezone.now() - timedelta(minutes=30)
    BranchHideJob.objects.exclude(pk=fresh.pk).update(updated_at=long_ago)

    assert branch_jobs_resume_stalled() == 1
    assert queued_job_ids(branch_job_queue) == [stalled.pk]
    # Touched when sent: the next sweep waits as long again.
    assert branch_jobs_resume_stalled() == 0
    assert BranchHideJob.objects.get(pk=failed.pk).state == "failed"


def test_a_broker_outage_delays_the_job_not_the_request(settings, moderator, big_branch,
                                                        branch_job_queue, caplog,
                                                        django_capture_on_commit_callbacks):
    settings.BRANCH_HIDE_SYNC_MAX = 100
    root, ids, outside = big_branch
    point_celery_app("redis://127.0.0.1:1/10", branch_job_queue)  # the broker is down
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        (job,) = hide_big_branch(root, moderator).jobs
    assert "the periodic sweep will send it" in caplog.text
    assert BranchHideJob.objects.get(pk=job.pk).state == "queued"

    point_celery_app(BRANCH_JOB_BROKER, branch_job_queue)  # back
    with django_capture_on_commit_callbacks(execute=True):
        (second,) = hide_big_branch(Comment.objects.get(pk=ids[1]), moderator).jobs
    assert queued_job_ids(branch_job_queue) == [second.pk]
