"""comments_score_in_process: idempotency, forced re-scores, policy transitions and their
Decision rows, and a moderator's decision surviving a re-score."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth import get_user_model

from moderation.decisions.services import comment_action_apply
from moderation.models import Action, Decision, ReasonCode, ToxicityScore
from moderation.scoring.pipeline import (
    comments_enqueue_scoring,
    comments_needing_scoring,
    comments_score_in_process,
)
from moderation.scoring.policy import policy_evaluate
from threads.models import Comment

pytestmark = pytest.mark.django_db


def ids(comments):
    return [c.pk for c in comments]


def test_scoring_stores_one_row_per_comment_and_the_top_score(make_thread, marker_scorer):
    comments = make_thread(["fine", "rude [insult=0.7]", "scary [threat=0.4] [insult=0.2]"])
    report = comments_score_in_process(comment_ids=ids(comments), scorer=marker_scorer)
    assert (report.scored, report.skipped) == (3, 0)
    rows = {s.comment_id: s for s in ToxicityScore.objects.filter(model_key=marker_scorer.key)}
    assert len(rows) == 3
    rude = Comment.objects.get(pk=comments[1].pk)
    assert (rude.toxicity, rude.toxicity_label) == (0.7, "insult")
    assert rows[rude.pk].content_hash == rude.content_hash
    assert rows[rude.pk].scores == {"toxicity": 0.01, "threat": 0.01, "insult": 0.7}


def test_scoring_again_skips_unchanged_text_unless_forced(make_thread, marker_scorer):
    comments = make_thread(["one", "two [toxicity=0.9]"])
    comments_score_in_process(comment_ids=ids(comments), scorer=marker_scorer)
    first = {s.pk: s.scored_at for s in ToxicityScore.objects.all()}
    decisions = Decision.objects.count()

    again = comments_score_in_process(comment_ids=ids(comments), scorer=marker_scorer)
    assert (again.scored, again.skipped, again.entered_queue) == (0, 2, 0)
    assert len(marker_scorer.calls) == 1  # the model did not even run
    assert {s.pk: s.scored_at for s in ToxicityScore.objects.all()} == first

    forced = comments_score_in_process(comment_ids=ids(comments), scorer=marker_scorer, force=True)
    assert (forced.scored, forced.skipped) == (2, 0)
    assert ToxicityScore.objects.count() == 2  # updated in place, not doubled
    assert all(s.scored_at > first[s.pk] for s in ToxicityScore.objects.all())
    assert Decision.objects.count() == decisions  # nothing new to decide


def test_changed_text_is_stale_and_rescored(make_thread, marker_scorer):
    (comment,) = make_thread(["calm"], external_id="edit")
    comments_score_in_process(comment_ids=[comment.pk], scorer=marker_scorer)
    assert not comments_needing_scoring(model_key=marker_scorer.key).exists()
    (edited,) = make_thread(["now angry [toxicity=0.95]"], external_id="edit")
    assert edited.pk == comment.pk
    stale = comments_needing_scoring(model_key=marker_scorer.key, unscored=False)
    assert list(stale.values_list("pk", flat=True)) == [comment.pk]
    report = comments_score_in_process(comment_ids=[comment.pk], scorer=marker_scorer)
    assert (report.scored, report.entered_queue) == (1, 1)
    assert Comment.objects.get(pk=comment.pk).toxicity == 0.95


def test_crossing_a_threshold_queues_with_a_system_decision(make_thread, marker_scorer):
    low, high = make_thread(["meh [threat=0.29]", "watch out [threat=0.31]"])
    report = comments_score_in_process(comment_ids=[low.pk, high.pk], scorer=marker_scorer)
    assert (report.entered_queue, report.left_queue) == (1, 0)
    assert not Comment.objects.get(pk=low.pk).needs_review
    high.refresh_from_db()
    assert high.needs_review and high.state == Comment.State.PENDING
    (decision,) = Decision.objects.filter(comment=high)
    assert decision.actor is None and decision.action == Action.QUEUE
    assert (decision.top_label, decision.top_score, decision.threshold) == ("threat", 0.31, 0.3)
    assert decision.model_key == marker_scorer.key
    assert decision.content_hash == high.content_hash


def test_falling_under_every_threshold_leaves_the_queue(make_thread, marker_scorer):
    (comment,) = make_thread(["bad [toxicity=0.8]"], external_id="x")
    comments_score_in_process(comment_ids=[comment.pk], scorer=marker_scorer)
    make_thread(["better now"], external_id="x")
    report = comments_score_in_process(comment_ids=[comment.pk], scorer=marker_scorer)
    assert (report.entered_queue, report.left_queue) == (0, 1)
    comment.refresh_from_db()
    assert not comment.needs_review
    actions = list(Decision.objects.filter(comment=comment).order_by("id")
                   .values_list("action", flat=True))
    assert actions == [Action.QUEUE, Action.UNQUEUE]


def test_a_new_model_rescores_and_can_move_comments(make_thread, marker_scorer):
    from tests.helpers import MarkerScorer

    (comment,) = make_thread(["hmm [insult=0.6]"])
    comments_score_in_process(comment_ids=[comment.pk], scorer=marker_scorer)
    newer = MarkerScorer(key="marker:test:2")
    assert comments_needing_scoring(model_key=newer.key).filter(pk=comment.pk).exists()
    report = comments_score_in_process(comment_ids=[comment.pk], scorer=newer)
    assert report.scored == 1
    assert ToxicityScore.objects.filter(comment=comment).count() == 2  # one per model


def test_auto_hide_is_off_by_default_and_a_decision_when_on(make_thread, marker_scorer,
                                                            settings):
    (comment,) = make_thread(["I will find you [threat=0.99]"], external_id="h")
    comments_score_in_process(comment_ids=[comment.pk], scorer=marker_scorer)
    comment.refresh_from_db()
    assert comment.state == Comment.State.PENDING and comment.needs_review

    settings.MODERATION_AUTOHIDE_THRESHOLDS = {"threat": 0.95}
    (other,) = make_thread(["I will find you too [threat=0.99]"], external_id="h2")
    report = comments_score_in_process(comment_ids=[other.pk], scorer=marker_scorer)
    other.refresh_from_db()
    assert report.hidden == 1 and other.state == Comment.State.HIDDEN
    (decision,) = Decision.objects.filter(comment=other)
    assert decision.actor is None and decision.action == Action.HIDE
    assert decision.reason == ReasonCode.THREAT and decision.threshold == 0.95


def test_a_moderators_decision_survives_a_rescore(make_thread, marker_scorer):
    (comment,) = make_thread(["borderline [toxicity=0.9]"], external_id="m")
    comments_score_in_process(comment_ids=[comment.pk], scorer=marker_scorer)
    moderator = get_user_model().objects.create_user("mod")
    comment.refresh_from_db()
    comment_action_apply(action="approve", comment=comment, actor=moderator)
    before = Decision.objects.count()

    report = comments_score_in_process(comment_ids=[comment.pk], scorer=marker_scorer, force=True)
    comment.refresh_from_db()
    assert report.scored == 1 and report.entered_queue == 0
    assert comment.state == Comment.State.APPROVED
    assert Decision.objects.count() == before

    # Even an auto-hide threshold does not touch the approved comment.
    from django.test import override_settings

    with override_settings(MODERATION_AUTOHIDE_THRESHOLDS={"toxicity": 0.5}):
        comments_score_in_process(comment_ids=[comment.pk], scorer=marker_scorer, force=True)
    comment.refresh_from_db()
    assert comment.state == Comment.State.APPROVED
    assert Decision.objects.count() == before


def test_text_changed_while_scoring_is_not_stored_as_current(make_thread, marker_scorer):
    (comment,) = make_thread(["first [toxicity=0.9]"], external_id="race")

    class EditingScorer(type(marker_scorer)):
        def score(self, texts):
            # A re-import lands while the model runs.
            Comment.objects.filter(pk=comment.pk).update(content_hash="0" * 64, body="new")
            return super().score(texts)

    report = comments_score_in_process(comment_ids=[comment.pk], scorer=EditingScorer())
    assert report.scored == 0
    assert not ToxicityScore.objects.filter(comment=comment).exists()
    assert not Decision.objects.filter(comment=comment).exists()


def test_missing_ids_and_empty_lists_are_harmless(marker_scorer):
    report = comments_score_in_process(comment_ids=[], scorer=marker_scorer)
    assert (report.scored, report.skipped) == (0, 0)
    report = comments_score_in_process(comment_ids=[999_999], scorer=marker_scorer)
    assert (report.scored, report.missing) == (0, 1)
    assert marker_scorer.calls == []


def test_review_thresholds_from_settings_override_defaults(settings):
    verdict = policy_evaluate(scores={"toxicity": 0.45}, model_key="k")
    assert not verdict.needs_review
    settings.MODERATION_REVIEW_THRESHOLDS = {"toxicity": 0.4}
    verdict = policy_evaluate(scores={"toxicity": 0.45}, model_key="k")
    assert verdict.needs_review and verdict.ml.threshold == 0.4


def test_scoring_through_the_tiny_detoxify_model(make_thread, use_tiny_detoxify):
    comments = make_thread(["you are an idiot", "", "😀 привет 你好", "hello friend " * 600])
    report = comments_score_in_process(comment_ids=ids(comments))
    assert report.scored == 4 and report.model_key.startswith("detoxify:original:")
    assert ToxicityScore.objects.filter(model_key=report.model_key).count() == 4
    assert all(c.toxicity is not None for c in Comment.objects.all())
    assert comments_score_in_process(comment_ids=ids(comments)).skipped == 4


def test_enqueue_on_commit_with_the_broker_down_warns_and_keeps_the_import(
    make_thread, settings, caplog, django_capture_on_commit_callbacks
):
    from config.celery import app
    from tests.helpers import point_celery_app

    settings.SCORING_AUTO_ENQUEUE = True
    old = app.conf.broker_url
    point_celery_app("redis://127.0.0.1:1/5")  # nothing listens on port 1
    try:
        with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(
            execute=True
        ) as callbacks:
            comments = make_thread(["a", "b", "c"])
        # One scoring flush (the other callback wakes the webhooks for the import's events).
        assert [c.__name__ for c in callbacks].count("_flush_pending") == 1
        assert "the periodic sweep will score them" in caplog.text
        assert len(comments) == 3
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            assert comments_enqueue_scoring(comment_ids=[1, 2, 2, 3]) == 3
        assert len(callbacks) == 1
    finally:
        point_celery_app(old)


def _many_small_threads(count: int) -> dict:
    return {"threads": [
        {"external_id": f"small-{n}", "comments": [
            {"external_id": "1", "body": f"first in {n}"},
            {"external_id": "2", "parent_id": "1", "body": f"reply in {n}"},
        ]} for n in range(count)
    ]}


def test_an_import_of_many_small_threads_sends_full_batches(
    import_json, settings, django_capture_on_commit_callbacks
):
    """Ids are collected per transaction: 60 comments in 30 threads -> 4 messages of <= 16."""
    import uuid

    import redis

    from config.celery import app
    from tests.helpers import point_celery_app

    settings.SCORING_AUTO_ENQUEUE = True
    settings.SCORING_TASK_BATCH = 16
    queue = f"tk-test-batches-{uuid.uuid4().hex[:8]}"
    broker = "redis://127.0.0.1:6379/5"
    old = (app.conf.broker_url, app.conf.task_default_queue)
    point_celery_app(broker, queue)
    client = redis.Redis.from_url(broker)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            report = import_json(_many_small_threads(30))
        assert report.comments_new == 60
        assert client.llen(queue) == 4  # real messages waiting in Redis, not 30
    finally:
        client.delete(queue)
        point_celery_app(*old)


def test_broker_down_costs_one_attempt_per_import_not_one_per_thread(
    import_json, settings, caplog, django_capture_on_commit_callbacks
):
    from config.celery import app
    from tests.helpers import point_celery_app

    settings.SCORING_AUTO_ENQUEUE = True
    old = (app.conf.broker_url, app.conf.task_default_queue)
    point_celery_app("redis://127.0.0.1:1/5")  # nothing listens on port 1
    try:
        with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
            report = import_json(_many_small_threads(30))
    finally:
        point_celery_app(*old)
    assert report.comments_new == 60  # the import is kept
    assert caplog.text.count("could not enqueue") == 1
    assert "could not enqueue scoring of 60 comment(s)" in caplog.text
