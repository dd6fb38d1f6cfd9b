"""Reads of reader reports: the Reported tab's comments, and the reports shown on cards."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Exists, F, OuterRef, QuerySet

from moderation.models import CommentReportSummary, Decision
from threads.models import Comment


def reported_comments() -> QuerySet[Comment]:
    """Comments with reports that no moderator has acted on since the latest one, not hidden.

    Annotated with `report_count` (the Reported tab sorts by it).
    """
    acted_since = Decision.objects.filter(
        comment=OuterRef("pk"), actor__isnull=False,
        created_at__gte=OuterRef("report_summary__last_reported_at"),
    )
    return (
        Comment.objects.filter(report_summary__count__gt=0)
        .exclude(state=Comment.State.HIDDEN)
        .exclude(Exists(acted_since))
        .annotate(report_count=F("report_summary__count"))
    )


def report_summaries(*, comment_ids: Iterable[int]) -> dict[int, CommentReportSummary]:
    """Report count and reasons of these comments (one query), those with reports only."""
    ids = list(comment_ids)
    if not ids:
        return {}
    return {s.comment_id: s for s in CommentReportSummary.objects.filter(comment_id__in=ids)}
