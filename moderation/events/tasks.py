"""Celery tasks for the webhooks: thin wrappers over moderation/events/webhooks.py.

Every message here is a hint: the rows (deliveries, their `next_attempt_at`,
each subscription's cursor) say what is due, so a lost message delays a
delivery until the sweep, and a duplicate does nothing.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

# Fail fast when the broker is down: the sweep is the retry (as for branch jobs).
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
# Database hiccups are transient and every task here is safe to run again.
TRANSIENT_DATABASE_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
}
# A retry further off than this waits for the sweep rather than sitting in a
# worker's memory as an ETA message (which Redis would hand out again after
# its visibility timeout).
COUNTDOWN_MAX_SECONDS = 300


def _publish(task, *args, countdown: float | None = None) -> bool:
    try:
        task.apply_async(args=args, countdown=countdown, retry=True, retry_policy=PUBLISH_RETRY)
    except Exception as exc:  # kombu raises several types for "broker down"
        logger.warning("could not enqueue %s%r (broker unreachable: %s); the webhook sweep "
                       "will do it", task.name, args, exc)
        return False
    return True


def webhooks_fanout_send() -> bool:
    """After a commit that wrote events: fan them out, if anyone subscribes at all."""
    from moderation.models import WebhookSubscription

    if not WebhookSubscription.objects.filter(active=True).exists():
        return False
    return _publish(webhooks_fanout_task)


def webhook_deliveries_send(ids: list[int]) -> int:
    return sum(_publish(webhook_deliver_task, pk) for pk in ids)


@shared_task(acks_late=True, ignore_result=True, **TRANSIENT_DATABASE_RETRY)
def webhooks_fanout_task() -> int:
    from .webhooks import webhooks_fanout

    created = webhooks_fanout()
    webhook_deliveries_send(created)
    return len(created)


@shared_task(acks_late=True, ignore_result=True, **TRANSIENT_DATABASE_RETRY)
def webhook_deliver_task(delivery_id: int) -> None:
    from .webhooks import webhook_delivery_attempt

    outcome = webhook_delivery_attempt(delivery_id=delivery_id)
    if outcome is None:
        return
    delivery, result = outcome.delivery, outcome.result
    logger.info("webhook delivery %d (event %d -> subscription %d) attempt %d: %s",
                delivery.pk, delivery.event_id, delivery.subscription_id, delivery.attempts,
                "delivered" if result.ok else (result.error or f"answered {result.status}"))
    if outcome.retry_in is not None:
        seconds = outcome.retry_in.total_seconds()
        if seconds <= COUNTDOWN_MAX_SECONDS:
            _publish(webhook_deliver_task, delivery.pk, countdown=seconds)


@shared_task(ignore_result=True, **TRANSIENT_DATABASE_RETRY)
def webhooks_sweep_task() -> int:
    """Periodic: fan out what no message announced, send every delivery that is due."""
    from .webhooks import webhook_deliveries_due, webhooks_fanout

    webhooks_fanout()
    due = webhook_deliveries_due()
    return webhook_deliveries_send(due)


