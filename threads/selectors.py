"""Reads of the discussion domain: whole threads, subtrees and ancestors.

All of them use the (thread, path) index; see threads/tree.py for the path
layout.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from .models import Comment
from .tree import FLAT_DEPTH, SEGMENT_WIDTH, subtree_upper_bound


def comment_subtree(*, comment: Comment, include_self: bool = True) -> QuerySet[Comment]:
    """The comment and every reply under it, in display order (a path range)."""
    lower = Q(path__gte=comment.path) if include_self else Q(path__gt=comment.path)
    if comment.depth < FLAT_DEPTH:
        upper = subtree_upper_bound(comment.path)
    else:
        # Past FLAT_DEPTH a subtree is a run of the anchor's depth-first list
        # that ends at the next comment no deeper than this one.
        upper = (
            Comment.objects.filter(
                thread_id=comment.thread_id, path__gt=comment.path, depth__lte=comment.depth
            )
            .order_by("path")
            .values_list("path", flat=True)
            .first()
        ) or subtree_upper_bound(comment.path[: FLAT_DEPTH * SEGMENT_WIDTH])
    queryset = Comment.objects.filter(lower, thread_id=comment.thread_id)
    if upper is not None:
        queryset = queryset.filter(path__lt=upper)
    return queryset.select_related("author").order_by("path")


@dataclass
class AncestorWindow:
    """Some of a comment's ancestors: the top-level one and the nearest few."""

    root: Comment | None  # the top-level ancestor; None for a top-level comment
    nearest: list[Comment]  # the closest ancestors below the root, ending with the parent
    skipped: int  # ancestors between the root and nearest[0], not read


def comment_ancestors_bounded(
    *, comment: Comment, nearest: int = 5, rows: QuerySet[Comment] | None = None
) -> AncestorWindow:
    """The top-level ancestor and the `nearest` closest ones, whatever the depth.

    Reads at most nearest + 1 rows: context for a comment 100,000 replies
    deep must not read the 100,000. Shallower than FLAT_DEPTH the ancestors
    are path prefixes (one query); from FLAT_DEPTH on they are found by
    following `parent` (the tree's truth), one primary-key read per level,
    at most `nearest` of them.
    `rows` picks the columns (e.g. a body preview); it defaults to all.
    """
    if comment.depth == 0:
        return AncestorWindow(root=None, nearest=[], skipped=0)
    rows = (rows if rows is not None else Comment.objects.all()).filter(
        thread_id=comment.thread_id
    )
    shallowest = max(1, comment.depth - nearest)
    wanted = [0, *range(shallowest, comment.depth)]
    prefixes = [comment.path[: SEGMENT_WIDTH * (d + 1)] for d in wanted if d < FLAT_DEPTH]
    found = {row.depth: row for row in rows.filter(path__in=prefixes)}
    parent_id, depth = comment.parent_id, comment.depth - 1
    while parent_id is not None and depth >= max(FLAT_DEPTH, shallowest):
        row = rows.filter(pk=parent_id).first()
        if row is None:
            break
        found[row.depth] = row
        parent_id, depth = row.parent_id, row.depth - 1
    return AncestorWindow(
        root=found.get(0),
        nearest=[found[d] for d in range(shallowest, comment.depth) if d in found],
        skipped=shallowest - 1,
    )
