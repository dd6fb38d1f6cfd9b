"""Scoring policy: per-label thresholds turn scores into system decisions.

A score only ever *proposes*: crossing a review threshold puts a pending
comment into the queue (and falling back under all of them takes it out)
through `moderation.services.comment_review_mark`, and an auto-hide threshold,
off by default, hides it through `comment_hide` with no actor. Both write a
Decision carrying the label, score, model and threshold, so the audit log says
why. The services stand down when a human already decided on this text, so a
score never overrides a moderator.

Defaults (probabilities from detoxify's sigmoid outputs; docs/scoring.md):

- toxicity 0.5: Jigsaw labelled a comment toxic when half its raters did, so
  0.5 is the model's own "more likely than not"; the broad label, most traffic.
- severe_toxicity 0.2: rare in the training data, and the model's scores for
  it stay low even on vile text; anything noticeable deserves a look.
- obscene 0.6: swearing without a target is common and mostly harmless in
  casual threads; a higher bar keeps the queue for hostile comments.
- threat 0.3: rare and high-harm; a missed threat costs more than a look.
- insult 0.5: as toxicity.
- identity_attack 0.3: high-harm and under-represented in training, so its
  scores run low; a lower bar catches it.
- sexual_explicit 0.5 (unbiased / multilingual models only).

The fallback scorer reports only `toxicity` (profanity probability) and is
held to the same 0.5.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from threads.models import Comment

from .models import Action, ReasonCode
from .services import MlContext, comment_hide, comment_review_mark

DEFAULT_REVIEW_THRESHOLDS: dict[str, float] = {
    "toxicity": 0.5,
    "severe_toxicity": 0.2,
    "obscene": 0.6,
    "threat": 0.3,
    "insult": 0.5,
    "identity_attack": 0.3,
    "sexual_explicit": 0.5,
}

# Hiding without a human is a deliberate operator choice: nothing by default.
DEFAULT_AUTOHIDE_THRESHOLDS: dict[str, float] = {}

# The reason an auto-hide records, per label.
HIDE_REASONS: dict[str, str] = {
    "threat": ReasonCode.THREAT,
    "identity_attack": ReasonCode.HATE,
    "sexual_explicit": ReasonCode.SEXUAL,
    "insult": ReasonCode.HARASSMENT,
    "severe_toxicity": ReasonCode.HARASSMENT,
    "toxicity": ReasonCode.HARASSMENT,
    "obscene": ReasonCode.OTHER,
}


def _validated(name: str, value: object) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(f"{name} must be a JSON object of label -> number")
    result = {}
    for label, threshold in value.items():
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not (
            0.0 <= threshold <= 1.0
        ):
            raise ImproperlyConfigured(
                f"{name}[{label!r}] = {threshold!r}: a threshold is a number from 0 to 1"
            )
        result[str(label)] = float(threshold)
    return result


def review_thresholds() -> dict[str, float]:
    return {
        **DEFAULT_REVIEW_THRESHOLDS,
        **_validated("MODERATION_REVIEW_THRESHOLDS", settings.MODERATION_REVIEW_THRESHOLDS),
    }


def autohide_thresholds() -> dict[str, float]:
    return {
        **DEFAULT_AUTOHIDE_THRESHOLDS,
        **_validated("MODERATION_AUTOHIDE_THRESHOLDS", settings.MODERATION_AUTOHIDE_THRESHOLDS),
    }


@dataclass(frozen=True)
class Verdict:
    needs_review: bool
    hide: bool
    ml: MlContext  # the deciding label: the one furthest over its threshold


def _crossing(scores: Mapping[str, float], thresholds: Mapping[str, float]) -> str | None:
    over = [
        (score - thresholds[label], label)
        for label, score in scores.items()
        if label in thresholds and score >= thresholds[label]
    ]
    return max(over)[1] if over else None


def policy_evaluate(*, scores: Mapping[str, float], model_key: str) -> Verdict:
    """What the thresholds say about one comment's scores (no writes)."""
    review = review_thresholds()
    hide_label = _crossing(scores, autohide_thresholds())
    if hide_label is not None:
        threshold = autohide_thresholds()[hide_label]
        ml = MlContext(hide_label, scores[hide_label], model_key, threshold)
        return Verdict(needs_review=True, hide=True, ml=ml)
    label = _crossing(scores, review)
    if label is not None:
        ml = MlContext(label, scores[label], model_key, review[label])
        return Verdict(needs_review=True, hide=False, ml=ml)
    top = max(scores, key=scores.__getitem__) if scores else ""
    ml = MlContext(top, scores.get(top), model_key, review.get(top))
    return Verdict(needs_review=False, hide=False, ml=ml)


def comment_policy_apply(*, comment: Comment | int, scores: Mapping[str, float],
                         model_key: str) -> str | None:
    """Apply the thresholds to a comment; returns the Action taken or None.

    Call it inside the transaction that locked the comment and checked its
    text is the text scored.
    """
    verdict = policy_evaluate(scores=scores, model_key=model_key)
    if verdict.hide:
        locked = comment if isinstance(comment, Comment) else Comment.objects.get(pk=comment)
        if locked.state == Comment.State.PENDING:
            decision = comment_hide(
                comment=locked, actor=None, reason=HIDE_REASONS.get(verdict.ml.top_label, ""),
                note="auto-hidden by the scoring policy", ml=verdict.ml,
            )
            if decision is not None:
                return Action.HIDE
    decision = comment_review_mark(comment=comment, needs_review=verdict.needs_review,
                                   ml=verdict.ml)
    return decision.action if decision is not None else None
