"""Score comments when an import or edit changes them, and shape a starting Celery
worker for the model it will score with (imported by apps.py)."""

from __future__ import annotations

import logging

from celery.signals import celeryd_init
from django.conf import settings
from django.dispatch import receiver

from threads.signals import comments_changed


@receiver(comments_changed, dispatch_uid="moderation.enqueue_scoring")
def enqueue_scoring_on_change(sender, comment_ids, **kwargs) -> None:
    if not settings.SCORING_AUTO_ENQUEUE:
        return
    from .pipeline import comments_enqueue_scoring

    comments_enqueue_scoring(comment_ids=comment_ids)


logger = logging.getLogger(__name__)


def worker_children() -> int:
    """Worker children for the model this install scores with (docs/scoring.md "Celery").

    detoxify: one child, its torch on every core (SCORING_TORCH_THREADS), so
    one model copy sorts 256 texts by length; the embedded model and the
    fallback run one thread each, so one child per core.
    """
    from .registry import active_choice

    return 1 if active_choice().backend == "detoxify" else max(1, settings.CPU_CORES or 1)


@celeryd_init.connect(dispatch_uid="moderation.worker_shape")
def shape_worker(sender=None, conf=None, options=None, **kwargs) -> None:
    """Unless `-c` or CELERY_WORKER_CONCURRENCY says, pick the children per model."""
    if (options or {}).get("concurrency") or settings.CELERY_WORKER_CONCURRENCY:
        return
    try:
        conf.worker_concurrency = worker_children()
    except Exception:  # noqa: BLE001 - a worker must start even when the choice cannot be read
        logger.exception("could not read the active model; starting one worker child")
        conf.worker_concurrency = 1
