"""Reads of the moderation log and branch jobs: the only read path for them outside this package.

The dashboard, the API and the commands read decisions through these
functions; the services in this package read them only to enforce rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import TruncDate

from moderation.models import (
    Action,
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


# --- Policy and reports (issue 14): the decision log as labels and as queue history ----


def human_decisions_since(*, since: datetime, actions: Iterable[str],
                          sources: Iterable[str] | None = None) -> QuerySet:
    """(comment id, action, top label) of people's decisions, by comment then id."""
    decisions = Decision.objects.filter(actor__isnull=False, created_at__gte=since,
                                        action__in=list(actions))
    if sources is not None:
        decisions = decisions.filter(comment__thread__source__in=list(sources))
    return decisions.order_by("comment_id", "id").values_list("comment_id", "action", "top_label")


def human_decided_comment_ids(*, since: datetime, actions: Iterable[str],
                              sources: Iterable[str] | None = None) -> QuerySet:
    """Ids of comments a person decided on since then (a subquery)."""
    decisions = Decision.objects.filter(actor__isnull=False, created_at__gte=since,
                                        action__in=list(actions))
    if sources is not None:
        decisions = decisions.filter(comment__thread__source__in=list(sources))
    return decisions.values("comment_id")


def decided_model_keys(*, since: datetime) -> list[tuple[str, int]]:
    """The models whose scores moderators saw since then, most decisions first."""
    return list(
        Decision.objects.filter(actor__isnull=False, created_at__gte=since)
        .exclude(model_key="").values_list("model_key").annotate(n=Count("id")).order_by("-n")
    )


def decisions_per_day(*, since: datetime) -> list[tuple[date, str, bool, int]]:
    """(day, action, by a person, count) of every decision since then."""
    return list(
        Decision.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"), human=Q(actor__isnull=False))
        .values_list("day", "action", "human").annotate(n=Count("id")).order_by("day")
    )


def decisions_per_moderator(*, since: datetime) -> list[tuple[int, str, str, int, int]]:
    """(actor id, username, action, count, days active) of people's decisions since then."""
    return list(
        Decision.objects.filter(created_at__gte=since, actor__isnull=False)
        .values_list("actor_id", "actor__username", "action")
        .annotate(n=Count("id"), days=Count(TruncDate("created_at"), distinct=True))
        .order_by("actor__username", "action")
    )


def queue_stays_by_day(*, since: datetime) -> list[tuple[date, date | None, int, datetime]]:
    """Stays in the review queue that began since then, grouped by the day they began and
    the day they ended: (entered day, left day or None, how many, the earliest entry).

    A stay begins with a `queue` decision and ends with the comment's next
    decision of any kind (a person's, an unqueue, an auto-hide). Grouped in
    the database: a report over a year reads at most days x days rows.
    """
    following = Decision.objects.filter(comment_id=OuterRef("comment_id"), id__gt=OuterRef("id"))
    return list(
        Decision.objects.filter(action=Action.QUEUE, created_at__gte=since)
        .annotate(left_at=Subquery(following.order_by("id").values("created_at")[:1]))
        .annotate(entered_day=TruncDate("created_at"), left_day=TruncDate("left_at"))
        .values_list("entered_day", "left_day")
        .annotate(n=Count("id"), first=Min("created_at"))
        .order_by()
    )


HUMAN_ACTIONS = (Action.APPROVE, Action.FLAG, Action.HIDE, Action.RESTORE)


def first_human_waits(*, since: datetime) -> list[tuple[date, timedelta | None]]:
    """(day, wait) of comments a person first decided on since then: the day (in the
    current time zone) of that first decision and its time since the comment arrived
    (imported_at; None if unknown).

    Day and difference come from the database: a hundred thousand pairs of
    aware datetimes cost more to load and convert here than the query.
    """
    return list(
        Decision.objects.filter(actor__isnull=False, action__in=HUMAN_ACTIONS)
        .values("comment_id").annotate(first=Min("created_at")).filter(first__gte=since)
        .annotate(day=TruncDate("first"),
                  wait=ExpressionWrapper(F("first") - F("comment__imported_at"),
                                         output_field=DurationField()))
        .values_list("day", "wait")
    )

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
