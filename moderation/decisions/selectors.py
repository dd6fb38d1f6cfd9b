"""Reads of the moderation log and branch jobs: the only read path for them outside this package.

The dashboard, the API and the commands read decisions through these
functions; the services in this package read them only to enforce rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Max, QuerySet

from moderation.models import (
    AuthorAction,
    AuthorDecision,
    AuthorStanding,
    BranchHideJob,
    Decision,
)
from threads.models import Comment


def comment_history(*, comment: Comment | int) -> QuerySet[Decision]:
    """Every decision on one comment, newest first, with who made it."""
    comment_id = comment.pk if isinstance(comment, Comment) else comment
    return (
        Decision.objects.filter(comment_id=comment_id)
        .select_related("actor")
        .order_by("-created_at", "-id")
    )


def moderator_history(*, user: AbstractBaseUser | int,
                      before_id: int | None = None) -> QuerySet[Decision]:
    """Every decision one moderator made, newest first, with the comment and thread.

    `before_id`: only decisions older than that one (keyset paging by id).
    """
    user_id = user if isinstance(user, int) else user.pk
    decisions = Decision.objects.filter(actor_id=user_id)
    if before_id is not None:
        decisions = decisions.filter(id__lt=before_id)
    return (
        decisions.select_related("actor", "comment", "comment__thread")
        .defer("comment__body_html", "comment__thread__lead")
        .order_by("-id")
    )


def decisions_by_actor(*, actor: AbstractBaseUser, ids: Iterable[int]) -> list[Decision]:
    """These decisions, those the actor made, newest first (what "undo" reverses)."""
    return list(Decision.objects.filter(pk__in=list(ids), actor=actor).order_by("-id"))


def comment_ids_decided_since(
    *,
    since: datetime,
    action: str | None = None,
    to_state: str | None = None,
    exclude_actor_id: int | None = None,
) -> QuerySet:
    """Ids of comments with a decision after `since` (a subquery; indexed on created_at)."""
    decisions = Decision.objects.filter(created_at__gt=since)
    if action is not None:
        decisions = decisions.filter(action=action)
    if to_state is not None:
        decisions = decisions.filter(to_state=to_state)
    if exclude_actor_id is not None:
        decisions = decisions.exclude(actor_id=exclude_actor_id)
    return decisions.values("comment_id")


def branch_job_get(*, job_id: int) -> BranchHideJob:
    """One branch job with its root comment and who started it (DoesNotExist if none)."""
    return BranchHideJob.objects.select_related("root", "actor").get(pk=job_id)


def branch_job_undo_of(*, job: BranchHideJob) -> BranchHideJob | None:
    """The job that undoes this branch hide, if one was started."""
    return BranchHideJob.objects.filter(undoes=job).first()


def branch_jobs_stalled(*, before: datetime) -> QuerySet[BranchHideJob]:
    """Queued or running jobs not updated since `before` (their worker or message was lost)."""
    return BranchHideJob.objects.filter(
        state__in=[BranchHideJob.State.QUEUED, BranchHideJob.State.RUNNING],
        updated_at__lt=before,
    ).order_by("pk")


# --- authors (standing, decisions, notes) -----------------------------------------


def author_standings(*, author_ids: Iterable[int]) -> dict[int, AuthorStanding]:
    """The standing rows of these authors (those that have one), by author id."""
    return {row.author_id: row
            for row in AuthorStanding.objects.filter(author_id__in=list(author_ids))}


def author_standing_get(*, author_id: int) -> AuthorStanding | None:
    return AuthorStanding.objects.filter(author_id=author_id).first()


def author_decisions(*, author_id: int, limit: int = 100) -> list[AuthorDecision]:
    """The decisions and notes about an author, newest first, with who made them."""
    return list(AuthorDecision.objects.filter(author_id=author_id)
                .select_related("actor", "job", "target").order_by("-created_at", "-id")[:limit])


def author_notes(*, author_id: int) -> list[AuthorDecision]:
    """The author's private notes still in force (not withdrawn), newest first."""
    return list(
        AuthorDecision.objects.filter(author_id=author_id, action=AuthorAction.NOTE)
        .exclude(withdrawals__isnull=False).select_related("actor")
        .order_by("-created_at", "-id")
    )


# --- threads: when a moderator last acted in them ----------------------------------


def threads_last_moderated(*, thread_ids: Iterable[int]) -> dict[int, datetime]:
    """The time of the newest moderator (not system) decision in each of these threads."""
    return dict(
        Decision.objects.filter(comment__thread_id__in=list(thread_ids), actor__isnull=False)
        .values("comment__thread_id").annotate(last=Max("created_at")).order_by()
        .values_list("comment__thread_id", "last")
    )


def threads_by_last_moderated(*, source: str = "") -> QuerySet:
    """Ids of the threads a moderator acted in, the most recent first (a values_list)."""
    decided = Decision.objects.filter(actor__isnull=False)
    if source:
        decided = decided.filter(comment__thread__source=source)
    return (decided.values("comment__thread_id").annotate(last=Max("created_at"))
            .order_by("-last", "-comment__thread_id")
            .values_list("comment__thread_id", flat=True))


def job_comment_ids(*, job: BranchHideJob | int, limit: int) -> list[int]:
    """The ids of (at most `limit`) comments a batch or branch job wrote a decision for."""
    job_id = job.pk if isinstance(job, BranchHideJob) else job
    return list(Decision.objects.filter(branch_job_id=job_id).order_by("pk")
                .values_list("comment_id", flat=True)[:limit])
