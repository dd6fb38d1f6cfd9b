"""Batch by score band: the histogram, "N of M selected", one batch with one undo."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from moderation.dashboard.queue import QueueFilters, score_histogram
from moderation.decisions.services import (
    ModerationError,
    branch_job_run,
    branch_job_undo_start,
    comments_batch_start,
)
from moderation.models import Action, BranchHideJob, Decision
from threads.models import Comment

pytestmark = pytest.mark.django_db

# scored_thread: 8 comments scored 0.95, 0.85, ... 0.25; the 6 from 0.45 up... are
# over 0.5: 0.95 0.85 0.75 0.65 0.55 in review (5), plus 0.45 0.35 0.25 pending.


def band_post(client, **fields):
    data = {"tab": "all", "lo": "0.6", "hi": "1", "band_action": "hide", "reason": "spam",
            "expected": "4", **fields}
    return client.post(reverse("moderation:band_act"), data)


def test_histogram_bins_the_tab_and_filters(scored_thread):
    histogram = score_histogram(tab="all", filters=QueueFilters())
    counts = {b.index: b.count for b in histogram.bins if b.count}
    assert counts == {19: 1, 17: 1, 15: 1, 13: 1, 11: 1, 9: 1, 7: 1, 5: 1}
    assert histogram.scored == 8 and histogram.unscored == 0
    insult = score_histogram(tab="all", filters=QueueFilters(label="insult"))
    assert insult.scored == 4  # the label filter: comments whose top label is insult
    review = score_histogram(tab="review", filters=QueueFilters())
    assert review.scored == 5


def test_panel_shows_n_of_m_and_a_borderline_sample(moderator_client, scored_thread):
    html = moderator_client.get(reverse("moderation:band_panel", args=["all"]),
                                {"lo": "0.6", "hi": "1"}).content.decode()
    assert 'data-band-selected="4"' in html and "of 8 selected" in html
    assert html.count("data-sample=") == 4  # 3 lowest + the 1 left over
    assert "Hide 4" in html and "Approve 4" in html
    # Enter in the note cannot act: the form's first submit button is disabled.
    form = html[html.index('class="band-act"'):]
    first_button = re.search(r"<button[^>]*>", form).group(0)
    assert "disabled" in first_button


def test_band_hide_is_one_batch_with_one_undo(moderator_client, scored_thread, moderator):
    band = set(Comment.objects.filter(toxicity__gte=0.6).values_list("pk", flat=True))
    response = band_post(moderator_client)
    html = response.content.decode()
    assert "Hid 4 of 4 comments (score band 0.60–1.00 in All)." in html
    assert set(Comment.objects.filter(state="hidden").values_list("pk", flat=True)) == band
    job = BranchHideJob.objects.get(kind="batch")
    decisions = Decision.objects.filter(branch_job=job)
    assert {d.comment_id for d in decisions} == band
    assert {(d.action, d.reason, d.actor_id) for d in decisions} == {("hide", "spam",
                                                                      moderator.pk)}
    assert "Undo batch" in html and 'id="undo-button"' in html

    undone = moderator_client.post(reverse("moderation:undo"), {"tab": "all"}).content.decode()
    assert "Undid 4 comments" in undone
    assert not Comment.objects.filter(state="hidden").exists()
    assert Decision.objects.filter(action=Action.UNDO).count() == 4


def test_a_band_that_changed_since_it_was_counted_is_refused(moderator_client, scored_thread):
    html = band_post(moderator_client, expected="3").content.decode()
    assert "the band now holds 4 comments, not the 3 you saw" in html
    assert not Comment.objects.filter(state="hidden").exists()


def test_hide_needs_a_reason_and_bad_ranges_are_refused(moderator_client, scored_thread):
    html = band_post(moderator_client, reason="").content.decode()
    assert "choose a reason" in html
    html = band_post(moderator_client, lo="0.9", hi="0.2").content.decode()
    assert "under its bottom" in html
    assert not Comment.objects.filter(state="hidden").exists()
    assert moderator_client.get(reverse("moderation:band_panel", args=["all"]),
                                {"lo": "2"}).status_code == 400


def test_a_comment_changed_after_the_count_is_left_alone(scored_thread, moderator):
    comments = list(Comment.objects.order_by("pk"))
    items = [(c.pk, c.version) for c in comments[:3]]
    Comment.objects.filter(pk=comments[0].pk).update(version=comments[0].version + 1)
    job = comments_batch_start(items=items, action="approve", actor=moderator,
                               description="test")
    assert (job.state, job.total, job.changed) == ("done", 3, 2)
    assert Comment.objects.get(pk=comments[0].pk).state == "pending"


def test_a_large_band_runs_in_the_background_and_undoes_whole(settings, scored_thread,
                                                              moderator):
    settings.BRANCH_HIDE_SYNC_MAX = 2
    items = list(Comment.objects.order_by("pk").values_list("pk", "version"))
    job = comments_batch_start(items=items, action="hide", actor=moderator, reason="spam")
    assert job.state == "queued" and job.changed == 0  # the worker's part (sent at commit)
    with pytest.raises(ModerationError, match="still queued"):
        branch_job_undo_start(job=job, actor=moderator)
    job = branch_job_run(job_id=job.pk)
    assert (job.state, job.changed) == ("done", 8)
    undo = branch_job_undo_start(job=job, actor=moderator)
    assert undo.state == "queued"
    undo = branch_job_run(job_id=undo.pk)
    assert (undo.state, undo.changed) == ("done", 8)
    assert not Comment.objects.filter(state="hidden").exists()
    assert branch_job_undo_start(job=job, actor=moderator) == undo  # asked twice: the same


def test_batches_refuse_what_they_cannot_do(scored_thread, moderator):
    with pytest.raises(ModerationError, match="empty"):
        comments_batch_start(items=[], action="hide", actor=moderator)
    with pytest.raises(ModerationError, match="approve or hide"):
        comments_batch_start(items=[(1, 1)], action="flag", actor=moderator)
