"""Moderation actions: the one code path for the dashboard, API, admin, commands and policy.

Every action locks the comment row, checks the transition and the version the
actor saw, changes the state and writes its Decision row in one transaction.
`comment_action_apply` acts on one comment; `comments_bulk_action_apply` on
many, each in its own transaction, collecting refusals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from moderation.models import Action, Decision, ReasonCode, ToxicityScore
from threads.models import Comment
from threads.selectors import comment_subtree

from .states import HIDE_BRANCH, TRANSITIONS, UNDOABLE, State


class ModerationError(Exception):
    """An action was refused; nothing was written. `comment_id`: the comment refused."""

    def __init__(self, message: str, *, comment_id: int | None = None) -> None:
        self.comment_id = comment_id
        super().__init__(message)


class IllegalTransition(ModerationError):
    def __init__(self, comment: Comment, action: str) -> None:
        self.comment = comment
        self.action = action
        allowed = ", ".join(sorted(TRANSITIONS.get(action, {}))) or "no state"
        super().__init__(
            f"cannot {action} comment #{comment.pk}: it is {comment.state} "
            f"({action} applies to {allowed})",
            comment_id=comment.pk,
        )


class StaleDecision(ModerationError):
    """The comment changed since the actor saw it; says who did what and when."""

    def __init__(self, comment: Comment, expected_version: int, last: Decision | None) -> None:
        self.comment = comment
        self.expected_version = expected_version
        self.last = last
        if last is not None and last.comment_version >= expected_version:
            who = last.actor.get_username() if last.actor else "the system"
            what = f"{who} {last.get_action_display().lower()} it ({last.from_state} -> " \
                   f"{last.to_state}) at {last.created_at:%Y-%m-%d %H:%M:%S %Z}"
            if last.comment_version + 1 < comment.version:
                # The last decision is not the last change: a re-import came after it.
                what += ", and its text changed after that"
        else:
            what = "its text changed (re-imported)"
        super().__init__(
            f"comment #{comment.pk} changed since you saw it (version {expected_version}, "
            f"now {comment.version}): {what}",
            comment_id=comment.pk,
        )


@dataclass(frozen=True)
class MlContext:
    """What the machine said at the moment of a decision."""

    top_label: str = ""
    top_score: float | None = None
    model_key: str = ""
    threshold: float | None = None


@dataclass
class BulkResult:
    decisions: list[Decision] = field(default_factory=list)
    # One line per comment that was not acted on, saying why.
    refused: list[ModerationError] = field(default_factory=list)


def comment_action_apply(
    *,
    comment: Comment | int,
    action: str,
    actor: AbstractBaseUser | None,
    reason: str = "",
    note: str = "",
    expected_version: int | None = None,
    ml: MlContext | None = None,
) -> Decision | None:
    """Apply approve / flag / hide / restore to one comment.

    Locks the comment row (SELECT ... FOR UPDATE; on SQLite the IMMEDIATE
    transaction holds the database write lock) so that two moderators acting
    at once are serialised: the second sees the first's version bump and gets
    StaleDecision instead of silently overwriting it.

    Returns the Decision, or None when the system (actor None) stands down
    because a human already decided on this text.
    """
    if action not in TRANSITIONS:
        raise ModerationError(f"unknown action {action!r}", comment_id=_pk(comment))
    _check_reason(reason)
    with transaction.atomic():
        locked = _lock(comment)
        _check_version(locked, expected_version)
        if actor is None and _human_decided(locked):
            return None
        to_state = TRANSITIONS[action].get(locked.state)
        if to_state is None:
            raise IllegalTransition(locked, action)
        decision = _record(locked, action=action, to_state=to_state, actor=actor,
                           reason=reason, note=note, ml=ml)
    _sync(comment, locked)
    return decision


def comment_undo(*, decision: Decision, actor: AbstractBaseUser) -> Decision:
    """Reverse a decision with a new one (the log is never rewritten).

    Only while the comment is still as that decision left it: if anything
    happened since, StaleDecision says what. Only moderation actions (not the
    policy's queue bookkeeping) can be undone.
    """
    if decision.action not in UNDOABLE:
        raise ModerationError(
            f"decision #{decision.pk} ({decision.action}) cannot be undone; "
            f"only {', '.join(UNDOABLE)} can",
            comment_id=decision.comment_id,
        )
    with transaction.atomic():
        locked = _lock(decision.comment_id)
        _check_version(locked, decision.comment_version + 1)
        return _record(locked, action=Action.UNDO, to_state=decision.from_state, actor=actor,
                       reason=decision.reason, note=f"undo of decision #{decision.pk}", ml=None)


def comment_review_mark(*, comment: Comment | int, needs_review: bool,
                        ml: MlContext) -> Decision | None:
    """The scoring policy puts a pending comment into the review queue or takes it out.

    A system decision, so the audit log shows why a comment entered the
    queue. Does nothing if the flag already has that value, if the comment
    is no longer pending, or if a human already decided on this text.
    """
    with transaction.atomic():
        locked = _lock(comment)
        if (
            locked.needs_review == needs_review
            or locked.state != State.PENDING
            or _human_decided(locked)
        ):
            return None
        locked.needs_review = needs_review
        action = Action.QUEUE if needs_review else Action.UNQUEUE
        decision = _record(locked, action=action, to_state=locked.state, actor=None,
                           reason="", note="", ml=ml, extra_fields=["needs_review"])
    _sync(comment, locked)
    return decision


def comment_branch_hide(
    *,
    comment: Comment | int,
    actor: AbstractBaseUser | None,
    reason: str = "",
    note: str = "",
    expected_version: int | None = None,
) -> list[Decision]:
    """Hide a comment and every reply under it: one Decision per comment hidden.

    Locks the whole subtree (in path order,
    so two branch hides that overlap lock in the same order and cannot
    deadlock). The version check applies to the comment the moderator
    clicked; replies already hidden are left alone, and so is the system
    (actor None) on any reply a human already decided on.
    """
    _check_reason(reason)
    with transaction.atomic():
        root = _lock(comment)
        _check_version(root, expected_version)
        branch = list(comment_subtree(comment=root).select_for_update(of=("self",)))
        decisions = []
        for node in branch:
            to_state = TRANSITIONS[Action.HIDE].get(node.state)
            if to_state is None or (actor is None and _human_decided(node)):
                continue
            decisions.append(
                _record(node, action=Action.HIDE, to_state=to_state, actor=actor, reason=reason,
                        note=note, ml=None)
            )
        return decisions


def comments_bulk_action_apply(
    *,
    comment_ids: Iterable[int],
    action: str,
    actor: AbstractBaseUser | None,
    reason: str = "",
    note: str = "",
    expected_versions: dict[int, int] | None = None,
) -> BulkResult:
    """Any moderator action on any number of comments (HIDE_BRANCH included).

    Each comment in its own transaction: one stale or illegal comment does
    not stop the others; the result lists each refusal with its reason.
    """
    result = BulkResult()
    for comment_id in comment_ids:
        expected = (expected_versions or {}).get(comment_id)
        try:
            if action == HIDE_BRANCH:
                result.decisions.extend(comment_branch_hide(
                    comment=comment_id, actor=actor, reason=reason, note=note,
                    expected_version=expected,
                ))
                continue
            decision = comment_action_apply(comment=comment_id, action=action, actor=actor,
                                            reason=reason, note=note, expected_version=expected)
        except Comment.DoesNotExist:
            result.refused.append(
                ModerationError(f"comment #{comment_id} does not exist", comment_id=comment_id)
            )
            continue
        except ModerationError as exc:
            result.refused.append(exc)
            continue
        if decision is not None:
            result.decisions.append(decision)
    return result


def _sync(comment: Comment | int, locked: Comment) -> None:
    """Let the caller's instance show what was just written, not the stale row."""
    if isinstance(comment, Comment) and comment is not locked:
        for name in ("state", "version", "needs_review", "updated_at"):
            setattr(comment, name, getattr(locked, name))


def _pk(comment: Comment | int) -> int:
    return comment.pk if isinstance(comment, Comment) else comment


def _lock(comment: Comment | int) -> Comment:
    return Comment.objects.select_for_update().get(pk=_pk(comment))


def _check_reason(reason: str) -> None:
    if reason and reason not in ReasonCode.values:
        raise ModerationError(
            f"unknown reason {reason!r}; use one of: {', '.join(ReasonCode.values)}"
        )


def _check_version(comment: Comment, expected_version: int | None) -> None:
    if expected_version is None or expected_version == comment.version:
        return
    last = (
        Decision.objects.filter(comment=comment).select_related("actor")
        .order_by("-created_at", "-id").first()
    )
    raise StaleDecision(comment, expected_version, last)


def _human_decided(comment: Comment) -> bool:
    return Decision.objects.filter(
        comment=comment, actor__isnull=False, content_hash=comment.content_hash
    ).exists()


def _current_ml(comment: Comment) -> MlContext:
    score = (
        ToxicityScore.objects.filter(comment=comment, content_hash=comment.content_hash)
        .order_by("-scored_at").first()
    )
    if score is None:
        return MlContext()
    return MlContext(top_label=score.top_label, top_score=score.top_score,
                     model_key=score.model_key)


def _record(
    comment: Comment,
    *,
    action: str,
    to_state: str,
    actor: AbstractBaseUser | None,
    reason: str,
    note: str,
    ml: MlContext | None,
    extra_fields: list[str] | None = None,
) -> Decision:
    """Change the locked comment's state, bump its version, write the Decision."""
    ml = ml or _current_ml(comment)
    from_state = comment.state
    seen_version = comment.version
    comment.state = to_state
    comment.version += 1
    comment.save(update_fields=["state", "version", "updated_at", *(extra_fields or [])])
    return Decision.objects.create(
        comment=comment,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        note=note,
        comment_version=seen_version,
        content_hash=comment.content_hash,
        top_label=ml.top_label,
        top_score=ml.top_score,
        model_key=ml.model_key,
        threshold=ml.threshold,
    )
