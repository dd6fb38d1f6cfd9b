"""Calibration from decisions: isotonic and Platt fits with known answers, and the labels
moderators' decisions give (undo cancels)."""

from __future__ import annotations

import numpy as np
import pytest

from moderation.decisions.services import comment_action_apply, comment_undo
from moderation.policy.calibration import (
    BINS,
    LabelData,
    calibration_fit,
    calibrations_fit,
    isotonic_fit,
    platt_fit,
)
from moderation.policy.selectors import decided_comments
from tests.helpers import MODEL_KEY, CommentFactory, ThreadFactory, score_exactly


def synthetic(n: int, a: float = 10.0, b: float = -5.0, seed: int = 1) -> LabelData:
    """Scores uniform on [0, 1]; a moderator acts with probability 1 / (1 + e^-(a s + b))."""
    rng = np.random.default_rng(seed)
    scores = rng.random(n)
    acted = rng.random(n) < 1 / (1 + np.exp(-(a * scores + b)))
    data = LabelData()
    index = np.rint(scores * (BINS - 1)).astype(int)
    np.add.at(data.positives, index[acted], 1)
    np.add.at(data.negatives, index[~acted], 1)
    return data


def test_pool_adjacent_violators_on_a_hand_checked_set():
    starts, values = isotonic_fit(np.array([0.1, 0.2, 0.3, 0.4]), np.array([1.0, 0.0, 0.0, 1.0]),
                                  np.ones(4))
    assert starts.tolist() == [0.1, 0.4]
    assert values.tolist() == pytest.approx([1 / 3, 1.0])


def test_platt_recovers_the_logistic_curve_that_generated_the_data():
    data = synthetic(50_000)
    mask = (data.positives + data.negatives) > 0
    a, b = platt_fit(np.flatnonzero(mask) / (BINS - 1), data.positives[mask],
                     data.negatives[mask])
    assert a == pytest.approx(10.0, rel=0.08) and b == pytest.approx(-5.0, rel=0.08)


def test_isotonic_calibration_follows_the_true_probability():
    calibration = calibration_fit("toxicity", "", synthetic(50_000))
    assert calibration.method == "isotonic"
    for score in (0.2, 0.5, 0.8):
        truth = 1 / (1 + np.exp(-(10 * score - 5)))
        assert calibration.predict(score) == pytest.approx(truth, abs=0.06)
    # Reliability: per tenth of the score, the observed rate follows the true curve.
    assert len(calibration.reliability) == 10
    for mean, rate, _ in calibration.reliability:
        assert rate == pytest.approx(1 / (1 + np.exp(-(10 * mean - 5))), abs=0.06)
    assert 0.0 < calibration.brier < 0.25


def test_few_decisions_give_platt_then_nothing_and_say_how_many_are_needed():
    assert calibration_fit("toxicity", "", synthetic(120)).method == "platt"
    none = calibration_fit("toxicity", "", synthetic(20))
    assert none.method is None and none.curve == []
    assert "a Platt fit needs 30" in none.needed


def test_precision_recall_and_the_threshold_for_a_precision():
    data = LabelData()
    for score, acted in [(0.9, 1), (0.8, 1), (0.7, 0), (0.6, 1), (0.5, 0), (0.3, 1), (0.1, 0)]:
        (data.positives if acted else data.negatives)[round(score * (BINS - 1))] += 1
    precision, recall, selected = data.precision_recall(0.5)
    assert (precision, recall, selected) == (pytest.approx(3 / 5), 3 / 4, 5)
    assert data.threshold_for_precision(0.75) == 0.6  # 0.6 and up: 3 of 4
    assert data.threshold_for_precision(1.0) == 0.8
    assert data.histogram(10) == ([0, 1, 0, 0, 0, 1, 0, 1, 0, 0], [0, 0, 0, 1, 0, 0, 1, 0, 1, 1])


@pytest.mark.django_db
def test_decisions_become_labels_for_the_label_they_name_and_undo_cancels(moderator):
    thread = ThreadFactory(source="news")
    hidden, approved, undone, redone = (CommentFactory(thread=thread) for _ in range(4))
    for comment, scores in [(hidden, {"toxicity": 0.9, "insult": 0.95}),
                            (approved, {"toxicity": 0.2, "insult": 0.1}),
                            (undone, {"toxicity": 0.6}), (redone, {"toxicity": 0.7})]:
        score_exactly(comment, scores)
    comment_action_apply(comment=hidden, action="hide", actor=moderator)  # names insult
    comment_action_apply(comment=approved, action="approve", actor=moderator)
    undo_me = comment_action_apply(comment=undone, action="hide", actor=moderator)
    comment_undo(decision=undo_me, actor=moderator)
    first = comment_action_apply(comment=redone, action="approve", actor=moderator)
    comment_undo(decision=first, actor=moderator)
    comment_action_apply(comment=redone, action="flag", actor=moderator)

    labels = {d.comment_id: (d.positive, d.label)
              for d in decided_comments(model_key=MODEL_KEY, days=30)}
    assert labels == {hidden.pk: (True, "insult"), approved.pk: (False, ""),
                      redone.pk: (True, "toxicity")}
    fits = calibrations_fit(model_key=MODEL_KEY, days=30)
    # The hide names insult: a positive for insult, not for toxicity.
    assert fits[("insult", "")].data.n_pos == 1 and fits[("toxicity", "")].data.n_pos == 1
    assert fits[("toxicity", "news")].data.n_neg == 1
