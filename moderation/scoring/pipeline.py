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
from django.db.models import Exists, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from moderation.models import Action, ToxicityScore
from threads.models import Comment

from .base import Scorer, scorer_languages
from .language import Detection, language_supported, text_language
from .policy import Policy, comment_policy_apply
from .registry import active_scorer
from .rules import RuleBook

logger = logging.getLogger(__name__)

# Comments read, scored and written per transaction.
WRITE_BATCH = 256
# Values per `IN (...)`, under SQLite's parameter limit.
IN_CHUNK = 900


@dataclass
class ScoreReport:
    scored: int = 0
    skipped: int = 0  # unchanged: this text was already scored by this model
    reused: int = 0  # of `scored`: the score of an identical text, the model not run again
    unsupported_language: int = 0  # of `scored`: in a language the model does not read
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
    rows = list(
        Comment.objects.filter(pk__in=ids).values_list("pk", "body", "content_hash", "language")
    )
    report.missing = len(ids) - len(rows)
    stored = dict(
        ToxicityScore.objects.filter(comment_id__in=ids, model_key=scorer.key)
        .values_list("comment_id", "content_hash")
    )
    # Done: this model scored the current text and its language is known
    # (comments scored before language detection existed have NULL).
    todo = [
        (pk, body, text_hash)
        for pk, body, text_hash, language in rows
        if force or stored.get(pk) != text_hash or language is None
    ]
    report.skipped = len(rows) - len(todo)
    if not todo:
        return report
    # Identical texts are scored once per model: a text this model already
    # scored on any comment (a spam wave, a copy-paste, this comment before its
    # language was known) reuses that score; duplicates within the batch are
    # scored once. `force` re-runs the model, still once per distinct text.
    by_hash = {} if force else _scores_by_hash(scorer.key, {h for _, _, h in todo})
    to_run: dict[str, str] = {}
    for _, body, text_hash in todo:
        if text_hash not in by_hash:
            to_run.setdefault(text_hash, body)
    if to_run:
        by_hash.update(zip(to_run, scorer.score(list(to_run.values())), strict=True))
    report.reused = len(todo) - len(to_run)
    detections = {h: text_language(body) for _, body, h in todo}
    languages = scorer_languages(scorer)
    logger.debug("scored %d text(s) for %d comment(s) with %s; writing", len(to_run), len(todo),
                 scorer.key)

    with transaction.atomic():
        current = dict(
            Comment.objects.select_for_update().filter(pk__in=[pk for pk, _, _ in todo])
            .order_by("pk").values_list("pk", "content_hash")
        )
        now = timezone.now()
        fresh = []
        for pk, _, scored_hash in todo:
            if current.get(pk) != scored_hash:
                continue  # re-imported while we scored: its own task scores the new text
            scores = by_hash[scored_hash]
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
        unsupported: dict[int, Detection] = {}
        for pk, scores, top_label, scored_hash in fresh:
            detection = detections[scored_hash]
            if language_supported(detection.language, languages):
                comment = Comment(pk=pk, toxicity=scores[top_label], toxicity_label=top_label,
                                  language=detection.language)
            else:
                # The model cannot read it: its scores are not applicable, and
                # the queue must not rank it by them.
                unsupported[pk] = detection
                comment = Comment(pk=pk, toxicity=None, toxicity_label="",
                                  language=detection.language)
            comments.append(comment)
        Comment.objects.bulk_update(comments, ["toxicity", "toxicity_label", "language"])
        # The rules in force, read once for the chunk (with the label tables
        # they fall back to), not once a comment.
        policy = Policy(RuleBook.load())
        for pk, scores, _, _ in fresh:
            action = comment_policy_apply(comment=pk, scores=scores, model_key=scorer.key,
                                          policy=policy, unsupported_language=unsupported.get(pk))
            if action == Action.QUEUE:
                report.entered_queue += 1
            elif action == Action.UNQUEUE:
                report.left_queue += 1
            elif action == Action.HIDE:
                report.hidden += 1
        report.scored = len(fresh)
        report.unsupported_language = len(unsupported)
    return report


def _scores_by_hash(model_key: str, hashes: set[str]) -> dict[str, dict[str, float]]:
    """This model's stored scores for these texts, by content hash (one row per text).

    Two queries however many comments share a text: the lowest score id per
    hash (the (model_key, content_hash) index), then those rows.
    """
    found: dict[str, dict[str, float]] = {}
    hash_list = sorted(hashes)
    for start in range(0, len(hash_list), IN_CHUNK):
        chunk = hash_list[start : start + IN_CHUNK]
        first_ids = (
            ToxicityScore.objects.filter(model_key=model_key, content_hash__in=chunk)
            .values("content_hash").annotate(first=Min("id")).values_list("first", flat=True)
        )
        found.update(
            ToxicityScore.objects.filter(pk__in=list(first_ids))
            .values_list("content_hash", "scores")
        )
    return found


def comments_needing_scoring(*, model_key: str, unscored: bool = True,
                             stale: bool = True) -> QuerySet[Comment]:
    """Comments with no score from this model (unscored) or one for older text (stale)."""
    any_score = ToxicityScore.objects.filter(comment=OuterRef("pk"), model_key=model_key)
    current = any_score.filter(content_hash=OuterRef("content_hash"))
    queryset = Comment.objects.all()
    # Scored before language detection existed: stale too (the pipeline
    # reuses the stored score, detects the language and applies the policy).
    no_language = Q(language__isnull=True)
    if unscored and stale:
        return queryset.filter(~Exists(current) | no_language)
    if unscored:
        return queryset.filter(~Exists(any_score))
    if stale:
        return queryset.filter(Exists(any_score)).filter(~Exists(current) | no_language)
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
