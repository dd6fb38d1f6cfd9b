"""Per-author rules applied as a comment's scores arrive: ban, suspension, trust, pre-moderation.

Called once from `comment_policy_apply` (policy.py), before the label
thresholds; the standing itself is written by moderation/decisions/authors.py.
Each rule acts through the decision services with no actor, so it leaves a
system decision whose note says which rule, and stands down where a human
already decided on this text:

- banned, or suspended until a moment still to come: the comment is hidden;
- pre-moderated: it goes to the review queue whatever its scores;
- trusted: approved when every label is under its review threshold (and
  reviewed as anyone's otherwise).

Precedence: ban and suspension over pre-moderation over trust (a trusted
author cannot be pre-moderated at the same time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import timezone

from moderation.decisions.selectors import author_standing_get
from moderation.decisions.services import comment_action_apply, comment_review_mark
from moderation.models import Action, ReasonCode
from threads.models import Comment

if TYPE_CHECKING:
    from .policy import Verdict


def author_rules_apply(*, comment: Comment | int, verdict: Verdict) -> str | None:
    """Apply the author's standing to a pending comment that was just scored.

    Returns the Action taken, "" when a rule holds but there was nothing to
    write (already in the queue, say), or None when no rule applies and the
    label thresholds decide.
    """
    locked = comment if isinstance(comment, Comment) else Comment.objects.get(pk=comment)
    if locked.author_id is None or locked.state != Comment.State.PENDING:
        return None
    standing = author_standing_get(author_id=locked.author_id)
    if standing is None:
        return None
    now = timezone.now()
    if standing.banned or standing.suspended_at(now):
        why = ("the author is banned" if standing.banned else
               f"the author is suspended until {standing.suspended_until:%Y-%m-%d %H:%M %Z}")
        decision = comment_action_apply(
            comment=locked, action=Action.HIDE, actor=None, reason=ReasonCode.OTHER,
            note=f"hidden on arrival: {why}", ml=verdict.ml,
        )
        return Action.HIDE if decision is not None else None
    if standing.premoderated and not verdict.hide:
        decision = comment_review_mark(comment=locked, needs_review=True, ml=verdict.ml,
                                       note="the author is pre-moderated")
        return decision.action if decision is not None else ""
    if standing.trusted and not verdict.needs_review and not verdict.hide:
        decision = comment_action_apply(
            comment=locked, action=Action.APPROVE, actor=None,
            note="approved on arrival: trusted author, every label under its threshold",
            ml=verdict.ml,
        )
        return Action.APPROVE if decision is not None else None
    return None
