"""Webhooks end to end through a real Celery worker on the real Redis."""

from __future__ import annotations

import json
import time

import pytest

from moderation.decisions.services import comment_action_apply
from moderation.events.webhooks import webhook_secret_generate
from moderation.models import WebhookDelivery, WebhookSubscription
from tests.helpers import CommentFactory, ModeratorFactory, WebhookReceiver


@pytest.mark.django_db(transaction=True)
def test_a_hide_reaches_the_receiver_signed_exactly_once_after_a_failure(webhook_worker):
    moderator = ModeratorFactory(username="worker-mod")
    comment = CommentFactory()
    with WebhookReceiver([500, 200]) as receiver:
        sub = WebhookSubscription.objects.create(
            name="site", url=receiver.url, secret=webhook_secret_generate(),
            event_types=["comment.state_changed"])
        receiver.secret = sub.secret
        # The commit sends the fan-out message; the worker delivers, fails, retries.
        comment_action_apply(comment=comment, action="hide", actor=moderator, reason="spam")
        receiver.wait_for(2, timeout=60)
        time.sleep(1.0)  # long enough for a third request, were one coming
    assert [r.answered for r in receiver.received] == [500, 200]
    assert len(receiver.verified) == 2
    (success,) = receiver.successes()
    body = json.loads(success.body)
    assert body["data"]["comment"]["id"] == comment.pk
    assert body["data"]["comment"]["visible"] is False
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("succeeded", 2)
    assert webhook_worker.log_count("attempt 1: answered 500") == 1
