"""Reads of the discussion domain: whole threads, subtrees and ancestors.

All of them use the (thread, path) index; see threads/tree.py for the path
layout.
"""

from __future__ import annotations

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


def comment_ancestors(*, comment: Comment) -> list[Comment]:
    """Ancestors from the top-level comment down to the parent."""
    # A comment at depth d < FLAT_DEPTH has d + 1 segments; its ancestors are
    # the d shorter prefixes.
    levels = min(comment.depth, FLAT_DEPTH)
    prefixes = [comment.path[: SEGMENT_WIDTH * n] for n in range(1, levels + 1)]
    if comment.depth < FLAT_DEPTH:
        ancestors = Comment.objects.filter(thread_id=comment.thread_id, path__in=prefixes)
        return list(ancestors.select_related("author").order_by("path"))
    # Deeper than FLAT_DEPTH (pathological chains): the nearest earlier comment
    # at each shallower depth within the anchor's run is an ancestor.
    anchor_path = comment.path[: FLAT_DEPTH * SEGMENT_WIDTH]
    upper_levels = list(
        Comment.objects.filter(thread_id=comment.thread_id, path__in=prefixes)
        .select_related("author")
        .order_by("path")
    )
    chain: list[Comment] = []
    wanted_depth = comment.depth - 1
    earlier = (
        Comment.objects.filter(
            thread_id=comment.thread_id,
            path__gt=anchor_path,
            path__lt=comment.path,
            depth__lt=comment.depth,
            depth__gte=FLAT_DEPTH,
        )
        .select_related("author")
        .order_by("-path")
    )
    for candidate in earlier.iterator(chunk_size=500):
        if candidate.depth == wanted_depth:
            chain.append(candidate)
            wanted_depth -= 1
            if wanted_depth < FLAT_DEPTH:
                break
    return upper_levels + list(reversed(chain))
