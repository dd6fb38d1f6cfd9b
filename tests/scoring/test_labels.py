"""The label table is the one rule: policy, queue pivot, cards, thread view and admin agree."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from moderation.dashboard.queue import sort_spec
from moderation.dashboard.templatetags import score_bars, suggested_reason
from moderation.models import ReasonCode, ToxicityScore
from moderation.scoring.checks import scorer_check
from moderation.scoring.labels import label_table
from moderation.scoring.policy import policy_evaluate
from tests.helpers import CommentFactory, score_comment


@pytest.mark.django_db  # the active model's thresholds: ActiveModel is a row
def test_a_changed_threshold_moves_policy_bars_and_pivot_together(settings):
    settings.MODERATION_REVIEW_THRESHOLDS = {"threat": 0.3, "toxicity": 0.6}
    scores = {"toxicity": 0.55, "threat": 0.35, "insult": 0.52}
    bars = {bar["label"]: bar["over"] for bar in score_bars(ToxicityScore(scores=scores))}
    # threat is over its own 0.3; toxicity is under its 0.6; insult keeps its 0.5.
    assert bars == {"Toxicity": False, "Threat": True, "Insult": True}
    verdict = policy_evaluate(scores=scores, model_key="m")
    assert verdict.needs_review and verdict.ml.top_label == "threat"  # furthest over its bar
    assert sort_spec("uncertain").threshold == 0.6

    settings.MODERATION_REVIEW_THRESHOLDS = {"threat": 0.4, "insult": 0.6, "toxicity": 0.6}
    assert not policy_evaluate(scores=scores, model_key="m").needs_review
    assert not any(bar["over"] for bar in score_bars(ToxicityScore(scores=scores)))


@pytest.mark.django_db  # the active model's thresholds: ActiveModel is a row
def test_the_suggested_reason_is_the_reason_an_auto_hide_records(settings):
    settings.MODERATION_AUTOHIDE_THRESHOLDS = {name: 0.9 for name in label_table()}
    for name in label_table():
        verdict = policy_evaluate(scores={name: 0.95}, model_key="m")
        assert verdict.hide
        assert suggested_reason(name) == label_table()[name].default_reason
    assert suggested_reason("obscene") == ReasonCode.OTHER
    assert suggested_reason("identity_attack") == ReasonCode.HATE


@pytest.mark.django_db
def test_the_hot_score_chip_follows_the_labels_threshold(settings):
    comment = CommentFactory()
    score_comment(comment, 0.45, label="threat")
    template = Template("{% load dashboard %}{% if c|over_threshold %}hot{% else %}calm{% endif %}")
    assert template.render(Context({"c": comment})) == "hot"  # threat's bar is 0.3
    settings.MODERATION_REVIEW_THRESHOLDS = {"threat": 0.5}
    assert template.render(Context({"c": comment})) == "calm"


@pytest.mark.django_db  # the active model's thresholds: ActiveModel is a row
def test_a_threshold_for_an_unknown_label_is_a_configuration_error(settings):
    settings.MODERATION_REVIEW_THRESHOLDS = {"threatt": 0.3}
    (error,) = scorer_check()
    assert error.id == "moderation.E001" and "threatt" in error.msg
