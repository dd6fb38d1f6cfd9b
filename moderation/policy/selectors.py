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

import numpy as np
from django.db import connections
from django.db.models import F, FloatField, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from moderation.decisions import selectors as decisions_selectors
from moderation.decisions.selectors import human_decided_comment_ids, human_decisions_since
from moderation.models import (
    Action,
    PolicyChange,
    PolicyRule,
    ToxicityScore,
    WatchedWordList,
)
from moderation.scoring.labels import label_table
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


@dataclass
class DecidedMatrix:
    """The same, as arrays (the calibration and the model report read these)."""

    labels: list[str]
    sources: list[str]
    comment_ids: np.ndarray
    source_index: np.ndarray  # into `sources`
    positive: np.ndarray  # bool
    label_index: np.ndarray  # the label a positive decision names, into `labels`; -1: none
    scores: np.ndarray  # (comments, labels); NaN where the model gave no such score

    def __len__(self) -> int:
        return len(self.comment_ids)


def window_start(days: int) -> datetime:
    return timezone.now() - timedelta(days=days)


def _standing_decisions(since: datetime,
                        sources: Iterable[str] | None) -> dict[int, tuple[str, str]]:
    """comment id -> (action, label) of the decision standing after undos."""
    standing: dict[int, list[tuple[str, str]]] = {}
    rows = human_decisions_since(since=since, actions=LABEL_ACTIONS, sources=sources)
    for comment_id, action, label in _raw_rows(rows):
        stack = standing.setdefault(comment_id, [])
        if action == Action.UNDO:
            if stack:
                stack.pop()
        else:
            stack.append((action, label))
    return {pk: stack[-1] for pk, stack in standing.items() if stack}


def _score_rows(*, model_key: str, since: datetime, sources: Iterable[str] | None,
                labels: list[str]):
    """(comment id, source, thread id, one float per label) of the decided comments' scores.

    The label values come out of the JSON in the database (a float column
    each), so a hundred thousand rows cost no JSON parsing here.
    """
    columns = {f"score_{i}": Cast(KT(f"scores__{label}"), FloatField())
               for i, label in enumerate(labels)}
    decided = human_decided_comment_ids(since=since, actions=LABEL_ACTIONS, sources=sources)
    return (ToxicityScore.objects.filter(model_key=model_key, comment_id__in=decided)
            .annotate(**columns)
            .values_list("comment_id", "comment__thread__source", "comment__thread_id",
                         *columns))


def _raw_rows(queryset: QuerySet) -> list[tuple]:
    """A values_list query's rows as the database driver returns them.

    For the hundred-thousand-row reads here: the driver already returns ints,
    strings and floats, and Django's per-row converters would cost more than
    the query itself.
    """
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _labels() -> list[str]:
    return list(label_table())


def decided_comments(*, model_key: str, days: int,
                     sources: Iterable[str] | None = None) -> list[DecidedComment]:
    """Every comment a moderator decided on in the last `days`, with this model's scores.

    Comments this model never scored are left out (nothing to learn from).
    """
    since = window_start(days)
    sources = list(sources) if sources is not None else None
    standing = _standing_decisions(since, sources)
    labels = _labels()
    result = []
    for comment_id, source, thread_id, *values in _raw_rows(_score_rows(
            model_key=model_key, since=since, sources=sources, labels=labels)):
        if comment_id not in standing:
            continue
        action, label = standing[comment_id]
        positive = action in POSITIVE_ACTIONS
        scores = {name: value for name, value in zip(labels, values, strict=True)
                  if value is not None}
        result.append(DecidedComment(comment_id, source, thread_id, scores, positive,
                                     label if positive else "", action))
    return result


def decided_matrix(*, model_key: str, days: int,
                   sources: Iterable[str] | None = None) -> DecidedMatrix:
    """decided_comments as arrays, built without a Python object per comment."""
    since = window_start(days)
    sources = list(sources) if sources is not None else None
    standing = _standing_decisions(since, sources)
    labels = _labels()
    label_pos = {name: i for i, name in enumerate(labels)}
    rows = [row for row in _raw_rows(_score_rows(model_key=model_key, since=since,
                                                 sources=sources, labels=labels))
            if row[0] in standing]
    source_names = sorted({row[1] for row in rows})
    source_pos = {name: i for i, name in enumerate(source_names)}
    n = len(rows)
    matrix = np.array([[np.nan if v is None else v for v in row[3:]] for row in rows],
                      dtype=float).reshape(n, len(labels))
    decisions = [standing[row[0]] for row in rows]
    positive = np.fromiter((action in POSITIVE_ACTIONS for action, _ in decisions), bool, n)
    label_index = np.fromiter((label_pos.get(label, -1) for _, label in decisions), int, n)
    return DecidedMatrix(
        labels=labels, sources=source_names,
        comment_ids=np.fromiter((row[0] for row in rows), np.int64, n),
        source_index=np.fromiter((source_pos[row[1]] for row in rows), int, n),
        positive=positive, label_index=np.where(positive, label_index, -1), scores=matrix)


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
