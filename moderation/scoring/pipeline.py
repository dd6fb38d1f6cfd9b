"""Scoring writes: the one code path for the Celery task, `rescore --sync` and the demo.

`comments_score_in_process` reads the comments, skips those whose (content hash, model
key) is already stored, runs the model with no transaction open, then writes
each batch in one short transaction that locks the comment rows, keeps only
comments whose text is still the text scored, upserts their ToxicityScore
rows, updates the denormalised `Comment.toxicity` and applies the policy.
Re-running it changes nothing, so a redelivered or duplicated task is
harmless.

`comments_enqueue_scoring` sends task messages on commit, in batches; a broker
outage or hang logs a warning and never fails the caller (the sweep catches
up); every wait on the broker is bounded by CELERY_BROKER_TIMEOUT.
`scoring_publish_batches` is the one way task messages are sent (on commit,
by the sweep, by `rescore`).
"""

from __future__ import annotations

import logging
import threading
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from moderation.models import Action, ToxicityScore
from threads.models import Comment

from .base import Scorer
from .policy import comment_policy_apply
from .registry import active_scorer

logger = logging.getLogger(__name__)

# Comments read, scored and written per transaction.
WRITE_BATCH = 256


@dataclass
class ScoreReport:
    scored: int = 0
    skipped: int = 0  # unchanged: this text was already scored by this model
    entered_queue: int = 0
    left_queue: int = 0
    hidden: int = 0
    missing: int = 0  # ids that no longer exist
    model_key: str = ""

    def merge(self, other: ScoreReport) -> None:
        for name, value in asdict(other).items():
            if isinstance(value, int):
                setattr(self, name, getattr(self, name) + value)
        self.model_key = self.model_key or other.model_key

    def as_json(self) -> dict[str, int]:
        return {"scored": self.scored, "skipped": self.skipped,
                "entered_queue": self.entered_queue, "left_queue": self.left_queue}


def comments_score_in_process(
    *,
    comment_ids: Iterable[int],
    force: bool = False,
    scorer: Scorer | None = None,
    batch_size: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ScoreReport:
    """Score comments with the active model (or `scorer`) and apply the policy.

    Idempotent: a comment whose current text this model already scored is
    skipped unless `force`. Locks each batch's comment rows only while
    writing, never while the model runs; a comment whose text changed
    meanwhile is left for the task its change enqueued.
    """
    scorer = scorer or active_scorer()
    report = ScoreReport(model_key=scorer.key)
    ids = sorted(set(comment_ids))
    size = batch_size or WRITE_BATCH
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        report.merge(_score_chunk(chunk, force=force, scorer=scorer))
        if on_progress:
            on_progress(len(chunk))
    return report


def _score_chunk(ids: Sequence[int], *, force: bool, scorer: Scorer) -> ScoreReport:
    report = ScoreReport()
    rows = list(Comment.objects.filter(pk__in=ids).values_list("pk", "body", "content_hash"))
    report.missing = len(ids) - len(rows)
    stored = dict(
        ToxicityScore.objects.filter(comment_id__in=ids, model_key=scorer.key)
        .values_list("comment_id", "content_hash")
    )
    todo = [row for row in rows if force or stored.get(row[0]) != row[2]]
    report.skipped = len(rows) - len(todo)
    if not todo:
        return report
    results = scorer.score([body for _, body, _ in todo])
    logger.debug("scored %d comment(s) with %s; writing", len(todo), scorer.key)

    with transaction.atomic():
        current = dict(
            Comment.objects.select_for_update().filter(pk__in=[pk for pk, _, _ in todo])
            .order_by("pk").values_list("pk", "content_hash")
        )
        now = timezone.now()
        fresh = []
        for (pk, _, scored_hash), scores in zip(todo, results, strict=True):
            if current.get(pk) != scored_hash:
                continue  # re-imported while we scored: its own task scores the new text
            top_label = max(scores, key=scores.__getitem__)
            fresh.append((pk, scores, top_label, scored_hash))
        ToxicityScore.objects.bulk_create(
            [
                ToxicityScore(comment_id=pk, model_key=scorer.key, content_hash=scored_hash,
                              scores=scores, top_label=top_label, top_score=scores[top_label],
                              scored_at=now)
                for pk, scores, top_label, scored_hash in fresh
            ],
            update_conflicts=True,
            unique_fields=["comment", "model_key"],
            update_fields=["content_hash", "scores", "top_label", "top_score", "scored_at"],
        )
        comments = []
        for pk, scores, top_label, _ in fresh:
            comment = Comment(pk=pk, toxicity=scores[top_label], toxicity_label=top_label)
            comments.append(comment)
        Comment.objects.bulk_update(comments, ["toxicity", "toxicity_label"])
        for pk, scores, _, _ in fresh:
            action = comment_policy_apply(comment=pk, scores=scores, model_key=scorer.key)
            if action == Action.QUEUE:
                report.entered_queue += 1
            elif action == Action.UNQUEUE:
                report.left_queue += 1
            elif action == Action.HIDE:
                report.hidden += 1
        report.scored = len(fresh)
    return report


def comments_needing_scoring(*, model_key: str, unscored: bool = True,
                             stale: bool = True) -> QuerySet[Comment]:
    """Comments with no score from this model (unscored) or one for older text (stale)."""
    any_score = ToxicityScore.objects.filter(comment=OuterRef("pk"), model_key=model_key)
    current = any_score.filter(content_hash=OuterRef("content_hash"))
    queryset = Comment.objects.all()
    if unscored and stale:
        return queryset.filter(~Exists(current))
    if unscored:
        return queryset.filter(~Exists(any_score))
    if stale:
        return queryset.filter(Exists(any_score), ~Exists(current))
    return queryset.none()


def comments_enqueue_scoring(*, comment_ids: Iterable[int], force: bool = False) -> int:
    """Send scoring task messages for these ids once the current transaction commits.

    Like `score_comments.delay_on_commit`, with two differences. Ids are
    collected per transaction and sent at commit in full batches of
    SCORING_TASK_BATCH, so an import of a thousand small threads sends a few
    well-filled messages, not one per thread. And a broker that cannot be
    reached logs one warning instead of raising into the caller's commit (the
    import is committed; the periodic sweep enqueues these comments later).
    Returns the number of ids to be sent.
    """
    ids = list(dict.fromkeys(comment_ids))
    if ids:
        # 8 bytes an id until commit (a dict of them costs ~100: 40 MiB for a
        # 360,000-comment import); repeats are dropped when the ids are sent.
        _pending().setdefault(force, array("q")).extend(ids)
        # Registered on every call (flushing an empty buffer does nothing): a
        # callback registered inside a savepoint that rolls back is dropped,
        # and a later one must still flush. Ids of rolled-back rows may be
        # sent too; scoring skips ids that do not exist.
        transaction.on_commit(_flush_pending)
    return len(ids)


_local = threading.local()


def _pending() -> dict[bool, array]:
    if not hasattr(_local, "pending"):
        _local.pending = {}
    return _local.pending


def _flush_pending() -> None:
    pending = _pending()
    batches = [(force, _unique(ids)) for force, ids in pending.items()]
    pending.clear()
    for force, ids in batches:
        if scoring_publish_batches(ids, force=force) < len(ids):
            return  # the broker is down: the rest waits for the sweep too


def _unique(ids: array) -> array:
    """The ids once each, in ascending (import) order, as compactly as they were held."""
    unique = array("q")
    for comment_id in sorted(ids):
        if not unique or unique[-1] != comment_id:
            unique.append(comment_id)
    return unique


# Fail fast when the broker is down: the sweep is the retry. A refused
# connection is retried twice within half a second; a broker that accepts and
# never answers costs one BROKER_TIMEOUT (CELERY_BROKER_TIMEOUT: the socket
# timeouts in config/settings.py), once per publish call, then the warning.
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def scoring_publish_batches(ids: Sequence[int], *, force: bool = False,
                            batch_size: int | None = None) -> int:
    """Send scoring task messages for `ids`, `batch_size` (SCORING_TASK_BATCH) per message.

    Stops at the first batch the broker does not take, with one warning, and
    returns how many ids were sent: the periodic sweep enqueues the rest.
    """
    from .tasks import score_comments_task

    size = batch_size or settings.SCORING_TASK_BATCH
    for start in range(0, len(ids), size):
        batch = list(ids[start : start + size])
        try:
            score_comments_task.apply_async(args=(batch,), kwargs={"force": force}, retry=True,
                                            retry_policy=PUBLISH_RETRY)
        except Exception as exc:  # kombu raises several types for "broker down"
            logger.warning(
                "could not enqueue scoring of %d comment(s) (broker %s unreachable: %s); "
                "the periodic sweep will score them", len(ids) - start,
                score_comments_task.app.conf.broker_write_url, exc,
            )
            return start
    return len(ids)
