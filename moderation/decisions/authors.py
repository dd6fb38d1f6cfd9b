"""Decisions about authors: ban, suspend until a date, trust, pre-moderate, private notes.

Each change locks the author's standing row, checks that it changes
something, writes the new standing and an append-only AuthorDecision (who,
what, reason code, why, until when) in one transaction; each has its reverse
(lift the ban, lift the suspension, stop trusting, stop pre-moderating,
withdraw a note), itself a decision. A ban also hides the author's pending
comments as one batch (`comments_batch_start`: one decision per comment, one
undo). What the standing does to comments as they arrive is the scoring
policy's part: moderation/scoring/authors.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from moderation.models import (
    Action,
    AuthorAction,
    AuthorDecision,
    AuthorStanding,
    BranchHideJob,
    ReasonCode,
)
from threads.models import Author, Comment

from .services import BATCH_MAX, ModerationError, comments_batch_start

# Standing changes that need a reason code (the others say why in the note).
REASON_REQUIRED = (AuthorAction.BAN, AuthorAction.SUSPEND)
MAX_SUSPENSION = timedelta(days=3650)
MAX_NOTE_CHARS = 2000


def author_decide(
    *,
    author: Author | int,
    action: str,
    actor: AbstractBaseUser,
    reason: str = "",
    note: str = "",
    until: datetime | None = None,
    target_id: int | None = None,
) -> AuthorDecision:
    """Change an author's standing, or add / withdraw a private note, with its audit row.

    Raises ModerationError (nothing written) when the action is unknown, needs
    a reason or a note it lacks, or changes nothing ("already banned").
    """
    author_id = author.pk if isinstance(author, Author) else author
    if action not in AuthorAction.values:
        raise ModerationError(f"unknown author action {action!r}; use one of: "
                              f"{', '.join(AuthorAction.values)}")
    note = note.strip()
    if reason and reason not in ReasonCode.values:
        raise ModerationError(f"unknown reason {reason!r}; use one of: "
                              f"{', '.join(ReasonCode.values)}")
    if action in REASON_REQUIRED and not reason:
        raise ModerationError(f"{AuthorAction(action).label.lower()}: choose a reason")
    if not note:
        raise ModerationError(f"{AuthorAction(action).label.lower()}: say why in the note"
                              if action != AuthorAction.NOTE else "the note is empty")
    if len(note) > MAX_NOTE_CHARS:
        raise ModerationError(f"the note is longer than {MAX_NOTE_CHARS} characters")
    now = timezone.now()
    if action == AuthorAction.SUSPEND:
        if until is None or until <= now:
            raise ModerationError("suspend: the end of the suspension must be in the future")
        if until > now + MAX_SUSPENSION:
            raise ModerationError("suspend: at most ten years; ban the author instead")

    with transaction.atomic():
        if not Author.objects.filter(pk=author_id).exists():
            raise ModerationError(f"author #{author_id} does not exist")
        AuthorStanding.objects.get_or_create(author_id=author_id)
        standing = AuthorStanding.objects.select_for_update().get(author_id=author_id)
        target = None
        if action == AuthorAction.WITHDRAW_NOTE:
            target = AuthorDecision.objects.filter(
                pk=target_id, author_id=author_id, action=AuthorAction.NOTE).first()
            if target is None:
                raise ModerationError(f"author #{author_id} has no note #{target_id}")
            if target.withdrawals.exists():
                raise ModerationError(f"note #{target_id} was withdrawn already")
        elif action != AuthorAction.NOTE:
            _change_standing(standing, action, until=until, now=now)
            standing.save()
        # A ban and the hide of the pending comments commit together (a large
        # batch: its job row; the worker's message is sent at commit).
        job = (_hide_pending(author_id=author_id, actor=actor, reason=reason, note=note)
               if action == AuthorAction.BAN else None)
        return AuthorDecision.objects.create(
            author_id=author_id, actor=actor, action=action,
            reason=reason if action in REASON_REQUIRED else "",
            note=note, until=until if action == AuthorAction.SUSPEND else None, target=target,
            job=job,
        )


def _change_standing(standing: AuthorStanding, action: str, *, until: datetime | None,
                     now: datetime) -> None:
    """Apply the action to the locked standing; ModerationError if it changes nothing."""
    name = f"author #{standing.author_id}"
    if action == AuthorAction.BAN:
        if standing.banned:
            raise ModerationError(f"{name} is banned already")
        standing.banned = True
    elif action == AuthorAction.UNBAN:
        if not standing.banned:
            raise ModerationError(f"{name} is not banned")
        standing.banned = False
    elif action == AuthorAction.SUSPEND:
        standing.suspended_until = until
    elif action == AuthorAction.UNSUSPEND:
        if not standing.suspended_at(now):
            raise ModerationError(f"{name} is not suspended")
        standing.suspended_until = None
    elif action == AuthorAction.TRUST:
        if standing.trusted:
            raise ModerationError(f"{name} is trusted already")
        if standing.premoderated:
            raise ModerationError(f"{name} is pre-moderated; stop pre-moderating first")
        standing.trusted = True
    elif action == AuthorAction.UNTRUST:
        if not standing.trusted:
            raise ModerationError(f"{name} is not trusted")
        standing.trusted = False
    elif action == AuthorAction.PREMODERATE:
        if standing.premoderated:
            raise ModerationError(f"{name} is pre-moderated already")
        if standing.trusted:
            raise ModerationError(f"{name} is trusted; stop trusting first")
        standing.premoderated = True
    elif action == AuthorAction.UNPREMODERATE:
        if not standing.premoderated:
            raise ModerationError(f"{name} is not pre-moderated")
        standing.premoderated = False


def _hide_pending(*, author_id: int, actor: AbstractBaseUser, reason: str,
                  note: str) -> BranchHideJob | None:
    """A ban's batch: hide the author's pending comments (None when there are none)."""
    items = list(Comment.objects.filter(author_id=author_id, state=Comment.State.PENDING)
                 .order_by("pk").values_list("pk", "version")[:BATCH_MAX])
    if not items:
        return None
    return comments_batch_start(
        items=items, action=Action.HIDE, actor=actor, reason=reason,
        note=f"author banned: {note}", description=f"pending comments of author #{author_id}",
    )

