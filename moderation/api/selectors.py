"""Reads for the API: the only queries its routes make (writes are in the services)."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db.models import QuerySet

from moderation.decisions.selectors import comment_history
from moderation.models import Decision, IngestSource, ToxicityScore
from threads.models import Comment, Thread

from .errors import ApiError


def sources_premoderated(*, sources: Iterable[str]) -> dict[str, bool]:
    """source -> whether its comments are pre-moderated (IngestSource, else the default)."""
    wanted = set(sources)
    modes = dict(
        IngestSource.objects.filter(source__in=wanted).values_list("source", "moderation")
    )
    default = settings.API_DEFAULT_MODERATION
    return {s: modes.get(s, default) == IngestSource.Moderation.PRE for s in wanted}


def comment_get(*, comment_id: int) -> Comment:
    comment = Comment.objects.select_related("thread").filter(pk=comment_id).first()
    if comment is None:
        raise ApiError(404, f"no comment #{comment_id}")
    return comment


def comment_scores(*, comment: Comment) -> QuerySet[ToxicityScore]:
    return ToxicityScore.objects.filter(comment=comment).order_by("-scored_at", "-id")


def comment_decisions(*, comment: Comment) -> QuerySet[Decision]:
    return comment_history(comment=comment)


def decision_get(*, decision_id: int) -> Decision:
    decision = Decision.objects.select_related("comment").filter(pk=decision_id).first()
    if decision is None:
        raise ApiError(404, f"no decision #{decision_id}")
    return decision


def thread_get(*, thread_id: int) -> Thread:
    thread = Thread.objects.filter(pk=thread_id).first()
    if thread is None:
        raise ApiError(404, f"no thread #{thread_id}")
    return thread


def thread_by_external_id(*, source: str, external_id: str) -> Thread:
    thread = Thread.objects.filter(source=source, external_id=external_id).first()
    if thread is None:
        raise ApiError(404, f"no thread {external_id!r} from source {source!r}")
    return thread


def thread_comments_page(*, thread: Thread, after_path: str = "",
                         limit: int) -> tuple[list[Comment], bool]:
    """One keyset page of the thread in display (tree) order: (comments, more after them).

    Walks the (thread, path) index from `after_path`; a page costs the same
    deep in a large thread as at its start.
    """
    rows = Comment.objects.filter(thread=thread).select_related(None).order_by("path")
    if after_path:
        rows = rows.filter(path__gt=after_path)
    page = list(rows.only(*TREE_FIELDS)[: limit + 1])
    return page[:limit], len(page) > limit


TREE_FIELDS = ("id", "thread_id", "parent_id", "external_id", "author_name", "body",
               "created_at", "path", "depth", "state", "version", "source_state", "toxicity",
               "toxicity_label", "needs_review")


def comments_thread_sources(*, comments: Iterable[Comment]) -> dict[int, str]:
    """comment id -> its thread's source, in one query."""
    by_thread: dict[int, list[int]] = {}
    for c in comments:
        by_thread.setdefault(c.thread_id, []).append(c.pk)
    sources = dict(Thread.objects.filter(pk__in=by_thread).values_list("pk", "source"))
    return {cid: sources[tid] for tid, ids in by_thread.items() for cid in ids}
