"""Hide branch on a large branch, from the dashboard: an answer at once, progress, restore."""

from __future__ import annotations

import pytest
from django.urls import reverse

from moderation.decisions.services import branch_job_run
from moderation.models import BranchHideJob, Decision
from tests.helpers import ModeratorFactory
from threads.models import Comment

pytestmark = pytest.mark.django_db
State = Comment.State


def hide_branch(client, root, ctx="thread"):
    return client.post(reverse("moderation:act"), {
        "action": "hide_branch", "comment": root.pk, "version": root.version, "ctx": ctx,
        "reason": "spam"})


def progress(client, job, ctx="thread"):
    return client.get(reverse("moderation:branch_job", args=[job.pk]), {"ctx": ctx})


def test_a_big_branch_hide_answers_before_the_replies_are_hidden(
        settings, moderator_client, big_branch, django_assert_max_num_queries):
    settings.BRANCH_HIDE_SYNC_MAX = 100
    root, ids, outside = big_branch
    # A fixed handful of statements, not a few per comment of the branch.
    with django_assert_max_num_queries(40):
        html = hide_branch(moderator_client, root).content.decode()
    assert "Hiding 1,200 comments in the background…" in html
    assert Decision.objects.count() == 1  # the clicked comment only, so far
    job = BranchHideJob.objects.get()
    # Its node shows it hidden; the progress element is added to the status line and polls.
    assert f'id="c-{root.pk}" class="node state-hidden"' in html
    assert '<div hx-swap-oob="beforeend:.statusline"><div id="branch-job-' in html
    assert f'hx-get="/branch-jobs/{job.pk}/?ctx=thread&amp;tab=review"' in html
    assert 'hx-trigger="every 2s"' in html


def test_progress_polls_until_done_then_offers_restore(settings, moderator_client, big_branch):
    settings.BRANCH_HIDE_SYNC_MAX = 100
    root, ids, outside = big_branch
    hide_branch(moderator_client, root)
    job = BranchHideJob.objects.get()
    branch_job_run(job_id=job.pk, max_chunks=1)
    html = progress(moderator_client, job).content.decode()
    assert "501 of 1,200" in html and 'hx-trigger="every 2s"' in html
    assert "Restore branch" not in html

    branch_job_run(job_id=job.pk)
    html = progress(moderator_client, job).content.decode()
    assert "Hid 1,200 comments in the branch of" in html
    assert "hx-trigger" not in html  # polling stops
    assert "Restore branch" in html and "Reload</a> to see the replies" in html
    # The clicked comment's node, the thread's badges and the status come along.
    assert f'id="c-{root.pk}" class="node state-hidden"' in html
    assert "pending 1</span>" in html and "hidden 1200</span>" in html
    assert "Hid 1,200 comments (the branch, in the background)." in html
    # Another moderator sees the progress but is not offered the undo.
    other = ModeratorFactory()
    moderator_client.force_login(other)
    # (The clicked comment's node has its own "Restore branch…" since issue 13.)
    assert f"/branch-jobs/{job.pk}/undo/" not in progress(moderator_client, job).content.decode()


def test_restore_branch_undoes_the_whole_job(settings, moderator_client, big_branch):
    settings.BRANCH_HIDE_SYNC_MAX = 100
    root, ids, outside = big_branch
    hide_branch(moderator_client, root)
    job = BranchHideJob.objects.get()
    branch_job_run(job_id=job.pk)
    settings.BRANCH_HIDE_SYNC_MAX = 5000  # the undo is small enough for the request
    html = moderator_client.post(reverse("moderation:branch_job_undo", args=[job.pk]),
                                 {"ctx": "thread"}).content.decode()
    assert "Undid 1,200 comments." in html
    assert set(Comment.objects.filter(pk__in=ids).values_list("state", flat=True)) == {
        State.PENDING}
    assert "Restored 1,200 of 1,200 comments" in html and "Restore started." in html
    # "u" afterwards does not undo it a second time.
    html = moderator_client.post(reverse("moderation:undo"), {"ctx": "thread"}).content.decode()
    assert "Nothing to undo." in html


def test_undo_key_waits_for_a_running_job_then_undoes_all_of_it(settings, moderator_client,
                                                                big_branch):
    settings.BRANCH_HIDE_SYNC_MAX = 100
    root, ids, outside = big_branch
    hide_branch(moderator_client, root)
    job = BranchHideJob.objects.get()
    html = moderator_client.post(reverse("moderation:undo"), {"ctx": "thread"}).content.decode()
    assert "is still queued" in html and "undo it when it has finished" in html
    assert Comment.objects.get(pk=root.pk).state == State.HIDDEN  # not half undone

    branch_job_run(job_id=job.pk)
    html = moderator_client.post(reverse("moderation:undo"), {"ctx": "thread"}).content.decode()
    assert "Restoring 1,200 comments in the background…" in html
    undo = BranchHideJob.objects.get(undoes=job)
    branch_job_run(job_id=undo.pk)
    assert set(Comment.objects.filter(pk__in=ids).values_list("state", flat=True)) == {
        State.PENDING}


def test_progress_is_for_moderators_and_checks_its_parameters(client, staff, moderator_client,
                                                              moderator, big_branch):
    root, ids, outside = big_branch
    job = BranchHideJob.objects.create(root=root, actor=moderator, total=1200)
    assert progress(moderator_client, job, ctx="elsewhere").status_code == 400
    assert moderator_client.get(reverse("moderation:branch_job", args=[999])).status_code == 404
    moderator_client.logout()
    assert progress(client, job).status_code == 302  # to the login page
    client.force_login(staff)
    assert progress(client, job).status_code == 403
