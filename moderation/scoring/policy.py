"""Scoring policy: the label table's thresholds turn scores into system decisions.

A score only ever *proposes*: crossing a review threshold puts a pending
comment into the queue (and falling back under all of them takes it out)
through `comment_review_mark`, and an auto-hide threshold, off by default,
hides it through `comment_action_apply` with no actor. Both write a Decision
carrying the label, score, model and threshold, so the audit log says why. The
services stand down when a human already decided on this text, so a score
never overrides a moderator. Thresholds and reasons: moderation/scoring/labels.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from moderation.decisions.services import MlContext, comment_action_apply, comment_review_mark
from moderation.models import Action
from threads.models import Comment

from .authors import author_rules_apply
from .labels import label_get, label_table


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
    """What the label table says about one comment's scores (no writes)."""
    table = label_table()
    labels = {name: label_get(name, table) for name in scores}
    review = {name: label.review_threshold for name, label in labels.items()}
    autohide = {
        name: label.autohide_threshold
        for name, label in labels.items()
        if label.autohide_threshold is not None
    }
    hide_label = _crossing(scores, autohide)
    if hide_label is not None:
        ml = MlContext(hide_label, scores[hide_label], model_key, autohide[hide_label])
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
    # Per-author rules first (ban, suspension, pre-moderation, trust): one call.
    taken = author_rules_apply(comment=comment, verdict=verdict)
    if taken is not None:
        return taken or None
    if verdict.hide:
        locked = comment if isinstance(comment, Comment) else Comment.objects.get(pk=comment)
        if locked.state == Comment.State.PENDING:
            decision = comment_action_apply(
                comment=locked, action=Action.HIDE, actor=None,
                reason=label_get(verdict.ml.top_label).default_reason,
                note="auto-hidden by the scoring policy", ml=verdict.ml,
            )
            if decision is not None:
                return Action.HIDE
    decision = comment_review_mark(comment=comment, needs_review=verdict.needs_review,
                                   ml=verdict.ml)
    return decision.action if decision is not None else None
