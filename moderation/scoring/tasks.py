"""Celery tasks: thin wrappers over moderation.scoring.pipeline.

The model is built lazily in the worker child on the first task (registry),
so the prefork parent never runs torch.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError

from moderation.decisions.tasks import TRANSIENT_DATABASE_RETRY

logger = logging.getLogger(__name__)


# Scoring is idempotent, so retrying after a database hiccup is always safe.
@shared_task(acks_late=True, ignore_result=True, **TRANSIENT_DATABASE_RETRY)
def score_comments_task(comment_ids: list[int], force: bool = False) -> None:
    """Score these comments in the worker (the Celery face of comments_score_in_process)."""
    from .pipeline import comments_score_in_process

    report = comments_score_in_process(comment_ids=comment_ids, force=force)
    logger.info("scored %d, skipped %d, queued %d, unqueued %d (%s)", report.scored,
                report.skipped, report.entered_queue, report.left_queue, report.model_key)


@shared_task(ignore_result=True, autoretry_for=(DatabaseError,), retry_backoff=True,
             max_retries=3)
def sweep_unscored_task() -> int:
    """Enqueue every comment that is unscored or stale for the active model."""
    from .pipeline import comments_needing_scoring, scoring_publish_batches
    from .registry import scorer_choice

    key = scorer_choice().key
    ids = list(
        comments_needing_scoring(model_key=key).order_by("pk").values_list("pk", flat=True)
    )
    sent = scoring_publish_batches(ids)
    if ids:
        logger.info("sweep: enqueued %d of %d comment(s) needing %s", sent, len(ids), key)
    return sent
