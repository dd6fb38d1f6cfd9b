"""Signed webhook deliveries (the Standard Webhooks scheme), with retries and auto-disable.

Fan-out: each active subscription follows the decisions feed with its own
cursor, like any consumer (`webhooks_fanout`): one WebhookDelivery row per
matching event, created in the transaction that moves the cursor, so an
event is neither skipped nor queued twice. Each delivery is then tried by a
worker (`webhook_delivery_attempt`): the attempt is claimed in a short
transaction (a lease, so a duplicate message does nothing), the request is
made with no transaction open, and its outcome is written in a second one.
A failed attempt is tried again after an exponentially growing delay until
WEBHOOK_MAX_ATTEMPTS; a subscription failing without a break for
WEBHOOK_DISABLE_AFTER_FAILURES attempts and WEBHOOK_DISABLE_AFTER_SECONDS is
disabled. Delivery is at least once: a receiver deduplicates on `webhook-id`
(the same for every attempt of one event) and orders by the event's `position`.

Requests go only where `webhook_target_check` allows: https (http only when
WEBHOOK_ALLOW_HTTP), no credentials in the URL, and a host whose every
address is public unless it is inside WEBHOOK_ALLOWED_NETWORKS. The
connection is made to the address that was checked (no second DNS answer),
redirects are not followed, and the whole request has a deadline.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from moderation.decisions.events import events_sequence_all
from moderation.models import Event, WebhookAttempt, WebhookDelivery, WebhookSubscription

from .selectors import event_json, event_threads, feed_horizon

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
FANOUT_CHUNK = 500
RESPONSE_EXCERPT_BYTES = 500
# How far past the request's deadline an attempt's lease runs: a worker that
# died mid-request leaves the delivery to the sweep once its lease is over.
LEASE_MARGIN = timedelta(seconds=30)
USER_AGENT = "Threadkeeper-Webhooks/1"


class WebhookUrlError(ValueError):
    """The URL may not receive webhooks; the message says why."""


# --- Standard Webhooks signing ------------------------------------------------------


def webhook_secret_generate() -> str:
    """A new signing secret: whsec_ and 32 random bytes in base64 (Standard Webhooks)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _secret_bytes(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:
        raise ValueError("a webhook secret is whsec_ followed by base64") from None


def webhook_secret_check(secret: str) -> None:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    if len(_secret_bytes(secret)) < 24:
        raise ValueError("a webhook secret needs at least 24 bytes (192 bits) after whsec_")


def webhook_signature(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, the webhook-signature value."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_verify(*, secret: str, headers: dict[str, str], body: bytes,
                   tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver checks: a v1 signature that matches, on a recent timestamp."""
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id", "")
    stamp = lowered.get("webhook-timestamp", "")
    if not msg_id or not stamp.isdecimal():
        return False
    if abs((now if now is not None else time.time()) - int(stamp)) > tolerance:
        return False
    expected = webhook_signature(secret=secret, msg_id=msg_id, timestamp=int(stamp), body=body)
    offered = lowered.get("webhook-signature", "").split()
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


# --- where a webhook may go -----------------------------------------------------------


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked IP address the connection is made to


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(net, strict=False) for net in settings.WEBHOOK_ALLOWED_NETWORKS]


def webhook_target_check(url: str, *, resolve: bool = True) -> Target | None:
    """Check a URL (with `resolve`, where its host points too); WebhookUrlError if refused."""
    if len(url) > 2000:
        raise WebhookUrlError("the URL is longer than 2,000 characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookUrlError(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("https", "http"):
        raise WebhookUrlError("a webhook URL must start with https://")
    if parts.scheme == "http" and not settings.WEBHOOK_ALLOW_HTTP:
        raise WebhookUrlError("a webhook URL must use https (WEBHOOK_ALLOW_HTTP is off)")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlError("a webhook URL may not carry a user name or password")
    host = parts.hostname
    if not host:
        raise WebhookUrlError("a webhook URL needs a host name")
    if parts.fragment:
        raise WebhookUrlError("a webhook URL may not have a #fragment")
    port = port or (443 if parts.scheme == "https" else 80)
    if not resolve:
        return None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookUrlError(f"the host {host!r} does not resolve: {exc}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    allowed = _allowed_networks()
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if any(ip in net for net in allowed):
            continue
        if not ip.is_global or ip.is_multicast:
            raise WebhookUrlError(
                f"the host {host!r} resolves to {ip}, a private, loopback or reserved "
                "address; add its network to WEBHOOK_ALLOWED_NETWORKS to allow it"
            )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, addresses[0])


# --- one HTTP request, bounded ----------------------------------------------------------


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout,
                         context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass
class PostResult:
    status: int | None
    error: str
    excerpt: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and not self.error


def webhook_post(*, target: Target, headers: dict[str, str], body: bytes) -> PostResult:
    """POST `body`; the exchange ends within WEBHOOK_TIMEOUT seconds, whatever the receiver does."""
    started = time.monotonic()
    total = settings.WEBHOOK_TIMEOUT
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = cls(target, timeout=min(settings.WEBHOOK_CONNECT_TIMEOUT, total))
    # A receiver that trickles its answer a byte at a time never trips a
    # per-read timeout: the deadline closes the socket under it.
    expired = threading.Event()
    killer = threading.Timer(total, _abort, args=(conn, expired))
    killer.daemon = True
    killer.start()
    status, error, excerpt = None, "", ""
    try:
        conn.connect()
        conn.sock.settimeout(max(0.01, total - (time.monotonic() - started)))
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        status = response.status
        excerpt = response.read(RESPONSE_EXCERPT_BYTES).decode("utf-8", "replace")
        if 300 <= status < 400:
            error = f"redirect to {response.getheader('Location', '?')[:200]} not followed"
    except (OSError, http.client.HTTPException, ValueError) as exc:
        elapsed = time.monotonic() - started
        error = (f"no answer within {total:g} s" if elapsed >= total - 0.05
                 else f"{type(exc).__name__}: {exc}")
    finally:
        killer.cancel()
        conn.close()
    if expired.is_set():
        # Whatever was read before the deadline cut it is not an answer.
        status, error = None, f"no answer within {total:g} s"
    return PostResult(status, error[:500], excerpt, int((time.monotonic() - started) * 1000))


def _abort(conn: http.client.HTTPConnection, expired: threading.Event) -> None:
    expired.set()
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


# --- fan-out and delivery -------------------------------------------------------------


def webhooks_fanout(*, limit: int = FANOUT_CHUNK) -> list[int]:
    """Create the deliveries for events each active subscription has not seen; returns their ids.

    Sequences the feed first. Each subscription is advanced in its own
    transaction, under its row lock, at most `limit` events at a time.
    """
    events_sequence_all()
    horizon = feed_horizon()
    created: list[int] = []
    for sub_id in WebhookSubscription.objects.filter(active=True, cursor__lt=horizon) \
            .values_list("pk", flat=True):
        while True:
            ids, done = _fanout_one(sub_id, horizon, limit)
            created += ids
            if done:
                break
    return created


def _fanout_one(sub_id: int, horizon: int, limit: int) -> tuple[list[int], bool]:
    with transaction.atomic():
        sub = WebhookSubscription.objects.select_for_update().filter(pk=sub_id, active=True).first()
        if sub is None or sub.cursor >= horizon:
            return [], True
        events = list(Event.objects.filter(position__gt=sub.cursor, position__lte=horizon)
                      .order_by("position").only("pk", "position", "type")[:limit])
        wanted = [e for e in events if e.type in set(sub.event_types)]
        WebhookDelivery.objects.bulk_create(
            [WebhookDelivery(subscription=sub, event_id=e.pk) for e in wanted],
            ignore_conflicts=True,
        )
        sub.cursor = events[-1].position if len(events) == limit else horizon
        sub.save(update_fields=["cursor", "updated_at"])
        ids = list(WebhookDelivery.objects.filter(
            subscription=sub, event_id__in=[e.pk for e in wanted], attempts=0,
            state=WebhookDelivery.State.PENDING).values_list("pk", flat=True))
    return ids, len(events) < limit


def _backoff(attempts: int) -> timedelta:
    """Delay before attempt `attempts + 1`: base x 2^(attempts - 1), capped."""
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * (2 ** max(0, attempts - 1))
    return timedelta(seconds=min(seconds, settings.WEBHOOK_RETRY_MAX_SECONDS))


def webhook_request(delivery: WebhookDelivery, *, timestamp: int | None = None
                    ) -> tuple[dict[str, str], bytes]:
    """The headers and body of one attempt: the event's JSON, signed now."""
    event = delivery.event
    body = json.dumps(event_json(event, event_threads([event])), separators=(",", ":"),
                      ensure_ascii=False).encode()
    msg_id = f"evt_{event.pk}"
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": webhook_signature(secret=delivery.subscription.secret,
                                               msg_id=msg_id, timestamp=stamp, body=body),
    }, body


@dataclass
class AttemptOutcome:
    delivery: WebhookDelivery
    result: PostResult
    retry_in: timedelta | None  # when another attempt is due, if one is


def webhook_delivery_attempt(*, delivery_id: int) -> AttemptOutcome | None:
    """Try one delivery once, if it is pending, due and its subscription active.

    Returns None when there was nothing to do (delivered already, not yet due,
    another worker's attempt running, subscription disabled).
    """
    now = timezone.now()
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update(of=("self",))
                    .select_related("subscription", "event").filter(pk=delivery_id).first())
        if (delivery is None or delivery.state != WebhookDelivery.State.PENDING
                or not delivery.subscription.active
                or (delivery.next_attempt_at is not None and delivery.next_attempt_at > now)):
            return None
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.next_attempt_at = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT) + LEASE_MARGIN
        delivery.save(update_fields=["attempts", "last_attempt_at", "next_attempt_at"])

    try:
        target = webhook_target_check(delivery.subscription.url)
    except WebhookUrlError as exc:
        result = PostResult(None, f"refused: {exc}"[:500], "", 0)
    else:
        headers, body = webhook_request(delivery)
        result = webhook_post(target=target, headers=headers, body=body)
    return _attempt_record(delivery.pk, started=now, result=result)


def _attempt_record(delivery_id: int, *, started, result: PostResult) -> AttemptOutcome:
    now = timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        sub = WebhookSubscription.objects.select_for_update().get(pk=delivery.subscription_id)
        WebhookAttempt.objects.create(
            delivery=delivery, started_at=started, duration_ms=result.duration_ms,
            status=result.status, error=result.error,
            response_excerpt=result.excerpt[:RESPONSE_EXCERPT_BYTES],
        )
        delivery.last_status = result.status
        delivery.last_error = result.error
        retry_in = None
        if result.ok:
            delivery.state = WebhookDelivery.State.SUCCEEDED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            sub.consecutive_failures = 0
            sub.failing_since = None
        else:
            if not result.error:
                delivery.last_error = f"answered {result.status}"
            if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
                delivery.state = WebhookDelivery.State.FAILED
                delivery.next_attempt_at = None
            else:
                retry_in = _backoff(delivery.attempts)
                delivery.next_attempt_at = now + retry_in
            sub.consecutive_failures += 1
            sub.failing_since = sub.failing_since or started
            if (sub.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES
                    and (now - sub.failing_since).total_seconds()
                    >= settings.WEBHOOK_DISABLE_AFTER_SECONDS):
                sub.active = False
                sub.disabled_reason = (
                    f"disabled at {now:%Y-%m-%d %H:%M:%S %Z} after {sub.consecutive_failures} "
                    f"failed attempts in a row since {sub.failing_since:%Y-%m-%d %H:%M:%S %Z}; "
                    f"last: {delivery.last_error}"
                )[:300]
                logger.warning("webhook %s disabled: %s", sub.name, sub.disabled_reason)
        delivery.save()
        sub.save(update_fields=["consecutive_failures", "failing_since", "active",
                                "disabled_reason", "updated_at"])
    return AttemptOutcome(delivery, result, retry_in)


def webhook_redeliver(*, delivery_ids: list[int]) -> list[int]:
    """Send these deliveries again from their first attempt (admin's "redeliver"); returns ids."""
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk__in=delivery_ids).update(
            state=WebhookDelivery.State.PENDING, attempts=0, next_attempt_at=None,
            delivered_at=None,
        )
    return list(delivery_ids)


def webhook_subscription_enable(*, subscription: WebhookSubscription) -> list[int]:
    """Switch a subscription (back) on: failures forgotten, its waiting deliveries due now."""
    with transaction.atomic():
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            active=True, disabled_reason="", consecutive_failures=0, failing_since=None,
            updated_at=timezone.now(),
        )
        pending = WebhookDelivery.objects.filter(subscription=subscription,
                                                 state=WebhookDelivery.State.PENDING)
        pending.update(next_attempt_at=None)
        return list(pending.values_list("pk", flat=True))


def webhook_subscription_disable(*, subscription: WebhookSubscription, reason: str) -> None:
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        active=False, disabled_reason=reason[:300], updated_at=timezone.now())


def webhook_deliveries_due(*, limit: int = 1000) -> list[int]:
    """Pending deliveries of active subscriptions whose next attempt is due (or never set)."""
    now = timezone.now()
    return list(WebhookDelivery.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        state=WebhookDelivery.State.PENDING, subscription__active=True,
    ).order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])


def webhook_subscription_create(*, name: str, url: str, event_types: list[str],
                                secret: str = "") -> WebhookSubscription:
    """A new subscription (ValueError naming what is wrong); it receives events from now on."""
    from moderation.models import EventType

    webhook_target_check(url)
    unknown = [t for t in event_types if t not in EventType.values]
    if unknown or not event_types:
        raise ValueError(f"event types: give one or more of {', '.join(EventType.values)}")
    secret = secret or webhook_secret_generate()
    webhook_secret_check(secret)
    if WebhookSubscription.objects.filter(name=name).exists():
        raise ValueError(f"a subscription named {name!r} exists already")
    return WebhookSubscription.objects.create(
        name=name, url=url, event_types=list(dict.fromkeys(event_types)), secret=secret,
        cursor=feed_horizon(),
    )
