"""Signed webhooks: signing, where they may go, delivery with retries, auto-disable, redeliver.

Every delivery here goes over real HTTP to a receiver on 127.0.0.1.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from moderation.decisions.services import comment_action_apply
from moderation.events.webhooks import (
    WebhookUrlError,
    webhook_delivery_attempt,
    webhook_redeliver,
    webhook_secret_generate,
    webhook_signature,
    webhook_subscription_enable,
    webhook_target_check,
    webhook_verify,
    webhooks_fanout,
)
from moderation.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from tests.helpers import CommentFactory, WebhookReceiver

pytestmark = pytest.mark.django_db


def test_signature_matches_the_standard_webhooks_reference_vector():
    # The example in the Standard Webhooks specification (and its libraries' tests).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = webhook_signature(secret=secret, msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
                                  timestamp=1614265330, body=body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    headers = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
               "webhook-signature": f"v1,bm9wZQ== {signature}"}
    assert webhook_verify(secret=secret, headers=headers, body=body, now=1614265330 + 60)
    assert not webhook_verify(secret=secret, headers=headers, body=body + b" ",
                              now=1614265330)
    assert not webhook_verify(secret=secret, headers=headers, body=body, now=1614265330 + 3600)


def test_generated_secrets_are_whsec_base64_of_32_bytes():
    import base64

    secret = webhook_secret_generate()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert webhook_secret_generate() != secret


@pytest.mark.parametrize("url, message", [
    ("ftp://hooks.example/x", "https"),
    ("http://93.184.216.34/x", "WEBHOOK_ALLOW_HTTP"),
    ("https://user:pw@93.184.216.34/x", "user name"),
    ("https:///nohost", "host"),
    ("https://127.0.0.1/x", "loopback"),
    ("https://10.1.2.3/x", "private"),
    ("https://169.254.169.254/latest/meta-data", "private"),
    ("https://[::1]/x", "private"),
    ("https://0.0.0.0/x", "private"),
    ("https://no-such-host.invalid/x", "does not resolve"),
    ("https://93.184.216.34:99999/x", "valid URL"),
])
def test_urls_that_could_reach_inside_are_refused(settings, url, message):
    settings.WEBHOOK_ALLOW_HTTP = False
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    with pytest.raises(WebhookUrlError, match=message):
        webhook_target_check(url)


def test_an_allowed_network_may_be_reached(webhook_settings):
    target = webhook_target_check("http://127.0.0.1:8080/in?x=1")
    assert (target.address, target.port, target.path) == ("127.0.0.1", 8080, "/in?x=1")
    webhook_settings.WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    with pytest.raises(WebhookUrlError):
        webhook_target_check("http://127.0.0.1:8080/in")


def subscribe(url: str, *types: str, **fields) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        name=fields.pop("name", "site"), url=url, secret=webhook_secret_generate(),
        event_types=list(types or ["comment.state_changed"]), **fields)


def due_now(delivery_id: int) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_fanout_creates_one_delivery_per_matching_event_once(webhook_settings, moderator):
    hides = subscribe("http://127.0.0.1:9/", "comment.state_changed", name="hides")
    queue = subscribe("http://127.0.0.1:9/", "comment.queued", name="queue")
    comment = CommentFactory()
    comment_action_apply(comment=comment, action="hide", actor=moderator)
    created = webhooks_fanout()
    assert len(created) == 1
    assert webhooks_fanout() == []  # the cursor moved: nothing twice
    assert WebhookDelivery.objects.get().subscription == hides
    assert hides.__class__.objects.get(pk=queue.pk).cursor == 1


def test_a_failed_attempt_is_retried_with_backoff_and_delivered_once(webhook_settings,
                                                                     moderator):
    with WebhookReceiver([500, 200]) as receiver:
        sub = subscribe(receiver.url)
        receiver.secret = sub.secret
        comment_action_apply(comment=CommentFactory(), action="hide", actor=moderator,
                             reason="spam")
        (delivery_id,) = webhooks_fanout()

        first = webhook_delivery_attempt(delivery_id=delivery_id)
        assert first is not None and not first.result.ok and first.result.status == 500
        assert first.retry_in == timedelta(seconds=0.3)
        # Not due yet: a duplicate message does nothing.
        assert webhook_delivery_attempt(delivery_id=delivery_id) is None
        time.sleep(0.35)
        second = webhook_delivery_attempt(delivery_id=delivery_id)
        assert second is not None and second.result.ok
        assert webhook_delivery_attempt(delivery_id=delivery_id) is None  # delivered: done

    assert len(receiver.received) == 2 and len(receiver.verified) == 2
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert len(ids) == 1  # the same id on every attempt: the receiver deduplicates on it
    body = json.loads(receiver.successes()[0].body)
    assert body["type"] == "comment.state_changed"
    assert body["data"]["comment"]["state"] == "hidden"
    assert body["data"]["decision"]["reason"] == "spam"
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("succeeded", 2, 200)
    log = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("started_at"))
    assert [a.status for a in log] == [500, 200]
    assert log[0].response_excerpt == "<b>nope</b>"
    sub.refresh_from_db()
    assert sub.consecutive_failures == 0 and sub.active


def test_backoff_doubles_up_to_its_cap_and_attempts_run_out(webhook_settings, moderator):
    webhook_settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    webhook_settings.WEBHOOK_RETRY_MAX_SECONDS = 35
    webhook_settings.WEBHOOK_MAX_ATTEMPTS = 4
    webhook_settings.WEBHOOK_DISABLE_AFTER_FAILURES = 100
    with WebhookReceiver([503]) as receiver:
        subscribe(receiver.url)
        comment_action_apply(comment=CommentFactory(), action="hide", actor=moderator)
        (delivery_id,) = webhooks_fanout()
        delays = []
        for _ in range(4):
            due_now(delivery_id)
            outcome = webhook_delivery_attempt(delivery_id=delivery_id)
            delays.append(outcome.retry_in)
    assert delays == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=35), None]
    assert WebhookDelivery.objects.get(pk=delivery_id).state == "failed"


def test_a_receiver_that_hangs_or_trickles_costs_at_most_the_timeout(webhook_settings,
                                                                     moderator):
    webhook_settings.WEBHOOK_TIMEOUT = 1.0
    with WebhookReceiver([("sleep", 5, 200), ("trickle", 5)]) as receiver:
        subscribe(receiver.url)
        comment_action_apply(comment=CommentFactory(), action="hide", actor=moderator)
        (delivery_id,) = webhooks_fanout()
        for _ in range(2):
            started = time.monotonic()
            due_now(delivery_id)
            outcome = webhook_delivery_attempt(delivery_id=delivery_id)
            assert time.monotonic() - started < 2.0
            assert not outcome.result.ok
            assert "no answer within 1 s" in outcome.result.error


def test_redirects_are_not_followed(webhook_settings, moderator):
    with WebhookReceiver([("redirect", "http://169.254.169.254/")]) as receiver:
        subscribe(receiver.url)
        comment_action_apply(comment=CommentFactory(), action="hide", actor=moderator)
        (delivery_id,) = webhooks_fanout()
        outcome = webhook_delivery_attempt(delivery_id=delivery_id)
    assert not outcome.result.ok and "not followed" in outcome.result.error
    assert len(receiver.received) == 1


def test_a_run_of_failures_disables_the_subscription_until_enabled(webhook_settings, moderator):
    webhook_settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    webhook_settings.WEBHOOK_DISABLE_AFTER_SECONDS = 0
    with WebhookReceiver([500, 500, 500, 200]) as receiver:
        sub = subscribe(receiver.url)
        for _ in range(2):
            comment_action_apply(comment=CommentFactory(), action="hide", actor=moderator)
        first, second = webhooks_fanout()
        webhook_delivery_attempt(delivery_id=first)
        webhook_delivery_attempt(delivery_id=second)
        due_now(first)
        webhook_delivery_attempt(delivery_id=first)
        sub.refresh_from_db()
        assert not sub.active and "3 failed attempts in a row" in sub.disabled_reason
        due_now(second)
        assert webhook_delivery_attempt(delivery_id=second) is None  # disabled: nothing sent
        assert len(receiver.received) == 3

        assert set(webhook_subscription_enable(subscription=sub)) == {first, second}
        assert webhook_delivery_attempt(delivery_id=second).result.ok
    sub.refresh_from_db()
    assert sub.active and sub.consecutive_failures == 0


def test_redeliver_sends_a_delivered_event_again(webhook_settings, moderator):
    with WebhookReceiver([200]) as receiver:
        subscribe(receiver.url)
        comment_action_apply(comment=CommentFactory(), action="hide", actor=moderator)
        (delivery_id,) = webhooks_fanout()
        webhook_delivery_attempt(delivery_id=delivery_id)
        webhook_redeliver(delivery_ids=[delivery_id])
        assert webhook_delivery_attempt(delivery_id=delivery_id).result.ok
    assert len(receiver.received) == 2
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]


def test_a_url_refused_at_delivery_is_logged_not_requested(settings, moderator):
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    with WebhookReceiver([200]) as receiver:
        subscribe(receiver.url)
        comment_action_apply(comment=CommentFactory(), action="hide", actor=moderator)
        (delivery_id,) = webhooks_fanout()
        outcome = webhook_delivery_attempt(delivery_id=delivery_id)
    assert outcome.result.error.startswith("refused: ") and not receiver.received
