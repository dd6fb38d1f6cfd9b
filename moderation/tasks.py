"""Celery tasks: thin wrappers over moderation.scoring.pipeline.

The model is built lazily in the worker child on the first task (registry),
so the prefork parent never runs torch.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    ignore_result=True,
    # Database hiccups (a restart, "database is locked", a dropped connection)
    # are transient; scoring is idempotent, so retrying is always safe.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def score_comments(comment_ids: list[int], force: bool = False) -> None:
    from moderation.scoring.pipeline import comments_score

    report = comments_score(comment_ids=comment_ids, force=force)
    logger.info("scored %d, skipped %d, queued %d, unqueued %d (%s)", report.scored,
                report.skipped, report.entered_queue, report.left_queue, report.model_key)


@shared_task(ignore_result=True, autoretry_for=(DatabaseError,), retry_backoff=True,
             max_retries=3)
def sweep_unscored() -> int:
    """Enqueue every comment that is unscored or stale for the active model."""
    from moderation.scoring.pipeline import comments_needing_scoring, scoring_publish
    from moderation.scoring.registry import scorer_choice

    key = scorer_choice().key
    ids = list(
        comments_needing_scoring(model_key=key).order_by("pk").values_list("pk", flat=True)
    )
    size = settings.SCORING_TASK_BATCH
    sent = 0
    for start in range(0, len(ids), size):
        batch = ids[start : start + size]
        if not scoring_publish(batch):
            break  # the broker is down: the next sweep tries again
        sent += len(batch)
    if ids:
        logger.info("sweep: enqueued %d of %d comment(s) needing %s", sent, len(ids), key)
    return sent
