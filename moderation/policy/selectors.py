"""Reads for the policy: moderators' decisions as labels, rules, word lists, the audit log.

Moderators' decisions are the labels the policy learns from. Per comment,
the human decisions of the window in order (an undo cancels the decision
before it): the last one standing says what a moderator here did. Hide and
flag are positive for the label the decision names (the model's top label
when the moderator acted), approve and restore are negative for every label.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, QuerySet
from django.utils import timezone

from moderation.decisions import selectors as decisions_selectors
from moderation.decisions.selectors import human_decisions_since
from moderation.models import (
    Action,
    PolicyChange,
    PolicyRule,
    ToxicityScore,
    WatchedWordList,
)
from threads.models import Comment, Thread

POSITIVE_ACTIONS = (Action.HIDE, Action.FLAG)
NEGATIVE_ACTIONS = (Action.APPROVE, Action.RESTORE)
LABEL_ACTIONS = (*POSITIVE_ACTIONS, *NEGATIVE_ACTIONS, Action.UNDO)
# Chunk of comment ids per score query (bounded IN lists on both databases).
_ID_CHUNK = 5000


@dataclass(frozen=True)
class DecidedComment:
    comment_id: int
    source: str
    thread_id: int
    scores: dict[str, float]
    positive: bool  # a moderator hid or flagged it (and did not undo that)
    label: str  # the label the decision names ("" for approve)
    action: str  # the standing decision's action
    decided_at: datetime


def window_start(days: int) -> datetime:
    return timezone.now() - timedelta(days=days)


def _standing_decisions(since: datetime,
                        sources: Iterable[str] | None) -> dict[int, tuple[str, str, datetime]]:
    """comment id -> (action, label, when) of the decision standing after undos."""
    standing: dict[int, list[tuple[str, str, datetime]]] = {}
    rows = human_decisions_since(since=since, actions=LABEL_ACTIONS, sources=sources)
    for comment_id, action, label, created_at in rows.iterator(chunk_size=10_000):
        stack = standing.setdefault(comment_id, [])
        if action == Action.UNDO:
            if stack:
                stack.pop()
        else:
            stack.append((action, label, created_at))
    return {pk: stack[-1] for pk, stack in standing.items() if stack}


def decided_comments(*, model_key: str, days: int,
                     sources: Iterable[str] | None = None) -> list[DecidedComment]:
    """Every comment a moderator decided on in the last `days`, with this model's scores.

    Comments this model never scored are left out (nothing to learn from).
    """
    standing = _standing_decisions(window_start(days), sources)
    ids = sorted(standing)
    result = []
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = ids[start:start + _ID_CHUNK]
        rows = ToxicityScore.objects.filter(model_key=model_key, comment_id__in=chunk) \
            .values_list("comment_id", "scores", "comment__thread__source", "comment__thread_id")
        for comment_id, scores, source, thread_id in rows:
            action, label, when = standing[comment_id]
            positive = action in POSITIVE_ACTIONS
            result.append(DecidedComment(comment_id, source, thread_id, scores, positive,
                                         label if positive else "", action, when))
    return result


def decided_bodies(*, comment_ids: Iterable[int]) -> dict[int, str]:
    """The text of these comments (a backtest of watched words reads it)."""
    ids = list(comment_ids)
    bodies: dict[int, str] = {}
    for start in range(0, len(ids), _ID_CHUNK):
        bodies.update(Comment.objects.filter(pk__in=ids[start:start + _ID_CHUNK])
                      .values_list("pk", "body"))
    return bodies


def decided_model_keys(*, days: int) -> list[tuple[str, int]]:
    """The models moderators saw scores of in the window, most decisions first."""
    return decisions_selectors.decided_model_keys(since=window_start(days))


def policy_rules() -> QuerySet[PolicyRule]:
    return PolicyRule.objects.select_related("thread").order_by("source", "thread_id", "label")


def word_lists() -> QuerySet[WatchedWordList]:
    return WatchedWordList.objects.order_by("source", "kind", "name")


def policy_changes(*, limit: int = 200) -> list[PolicyChange]:
    return list(PolicyChange.objects.select_related("actor").order_by("-id")[:limit])


def sources() -> list[str]:
    return list(Thread.objects.order_by("source").values_list("source", flat=True).distinct())


def pending_scored(*, model_key: str, after_id: int = 0,
                   limit: int = 1000) -> list[tuple[int, dict, str, int, str]]:
    """Pending comments with this model's score of their current text, by id, after `after_id`:
    (id, scores, source, thread id, body)."""
    return list(
        ToxicityScore.objects.filter(
            model_key=model_key, comment__state=Comment.State.PENDING,
            comment_id__gt=after_id,
        ).filter(content_hash=F("comment__content_hash"))
        .order_by("comment_id")
        .values_list("comment_id", "scores", "comment__thread__source", "comment__thread_id",
                     "comment__body", "comment__needs_review")[:limit]
    )


def pending_scores(ids: list[int], model_key: str) -> Iterator[tuple[int, dict]]:
    """(comment id, this model's scores) of these comments."""
    for start in range(0, len(ids), _ID_CHUNK):
        yield from ToxicityScore.objects.filter(
            model_key=model_key, comment_id__in=ids[start:start + _ID_CHUNK]
        ).values_list("comment_id", "scores")


def policy_model_key(*, days: int = 90) -> str:
    """The model the policy pages speak of: the active one, else the one most decided on."""
    from django.core.exceptions import ImproperlyConfigured

    from moderation.scoring.registry import scorer_choice

    try:
        active = scorer_choice().key
    except ImproperlyConfigured:
        active = ""
    keys = [key for key, _ in decided_model_keys(days=days)]
    if active and (active in keys or not keys):
        return active
    return keys[0] if keys else active
