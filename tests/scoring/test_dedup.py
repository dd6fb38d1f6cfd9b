"""Identical texts are scored once per model: within a batch, across batches, across runs."""

from __future__ import annotations

import pytest

from moderation.models import ToxicityScore
from moderation.scoring.pipeline import comments_score_in_process
from tests.helpers import MarkerScorer
from threads.models import Comment

pytestmark = pytest.mark.django_db

SPAM = "Buy cheap watches at example dot com [toxicity=0.9]"


def ids(comments):
    return [c.pk for c in comments]


def test_duplicates_inside_one_batch_run_the_model_once(make_thread, marker_scorer):
    comments = make_thread([SPAM] * 5 + ["a real comment"])
    report = comments_score_in_process(comment_ids=ids(comments), scorer=marker_scorer)
    assert (report.scored, report.reused, report.entered_queue) == (6, 4, 5)
    assert marker_scorer.calls == [[SPAM, "a real comment"]]
    rows = ToxicityScore.objects.filter(model_key=marker_scorer.key)
    assert rows.count() == 6  # every comment has its own row, same scores
    assert {r.top_score for r in rows if r.comment_id != comments[-1].pk} == {0.9}
    assert Comment.objects.filter(needs_review=True).count() == 5


def test_duplicates_across_write_batches_and_runs_reuse_the_stored_score(make_thread,
                                                                        marker_scorer):
    first_wave = make_thread([SPAM, "hello there"])
    comments_score_in_process(comment_ids=ids(first_wave), scorer=marker_scorer)
    assert len(marker_scorer.calls) == 1

    # A later wave, in batches of 2: the spam's stored score is reused in every batch.
    second_wave = make_thread([SPAM, SPAM, "new text", SPAM, "hello there"])
    report = comments_score_in_process(comment_ids=ids(second_wave), scorer=marker_scorer,
                                       batch_size=2)
    assert (report.scored, report.reused) == (5, 4)
    assert [text for call in marker_scorer.calls[1:] for text in call] == ["new text"]
    for comment in Comment.objects.filter(pk__in=ids(second_wave), body=SPAM):
        assert (comment.toxicity, comment.toxicity_label, comment.needs_review) == (
            0.9, "toxicity", True)
        assert comment.decisions.get().model_key == marker_scorer.key


def test_another_model_does_not_reuse_and_force_runs_once_per_distinct_text(make_thread,
                                                                           marker_scorer):
    comments = make_thread([SPAM, SPAM, SPAM])
    comments_score_in_process(comment_ids=ids(comments), scorer=marker_scorer)
    other = MarkerScorer(key="marker:other:2")
    report = comments_score_in_process(comment_ids=ids(comments), scorer=other)
    assert other.calls == [[SPAM]] and report.reused == 2

    forced = comments_score_in_process(comment_ids=ids(comments), scorer=marker_scorer,
                                       force=True)
    assert marker_scorer.calls[-1] == [SPAM]  # re-run, but once for the three
    assert (forced.scored, forced.reused) == (3, 2)


def test_an_edited_copy_is_scored_afresh(make_thread, marker_scorer):
    (original,) = make_thread([SPAM], external_id="a")
    comments_score_in_process(comment_ids=[original.pk], scorer=marker_scorer)
    (copy,) = make_thread([SPAM.replace("0.9", "0.2")], external_id="b")
    report = comments_score_in_process(comment_ids=[copy.pk], scorer=marker_scorer)
    assert report.reused == 0
    assert Comment.objects.get(pk=copy.pk).toxicity == 0.2
