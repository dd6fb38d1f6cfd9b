"""API keys: create (shown once), revoke, authenticate. The only code that touches ApiKey rows.

A key reads `tk_<8 characters>_<43 characters>`: 256 random bits after a
prefix that admin shows. Only its SHA-256 is stored, so a database dump
reveals no key; a lost key is revoked and a new one made.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from moderation.models import ApiKey, ApiScope

KEY_PREFIX = "tk_"
# last_used_at is written at most this often per key: a write per request
# would cost more than the request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class ApiKeyError(ValueError):
    """A key could not be created as asked (bad name or scope)."""


@dataclass(frozen=True)
class NewApiKey:
    key: ApiKey
    # The key itself: give it to the integration now; it is not stored.
    secret: str


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def scopes_clean(scopes: Iterable[str]) -> list[str]:
    wanted = [s.strip().lower() for s in scopes if s.strip()]
    unknown = sorted(set(wanted) - set(ApiScope.values))
    if unknown:
        raise ApiKeyError(
            f"unknown scope(s) {', '.join(unknown)}; use any of: {', '.join(ApiScope.values)}"
        )
    if not wanted:
        raise ApiKeyError(f"give at least one scope: {', '.join(ApiScope.values)}")
    return [s for s in ApiScope.values if s in wanted]


def service_user_for(name: str) -> AbstractBaseUser:
    """The account a key's decisions are recorded as when no user is given: `api:<name>`.

    It cannot sign in (no usable password, not staff).
    """
    user_model = get_user_model()
    username = f"api:{name}"[: user_model._meta.get_field(user_model.USERNAME_FIELD).max_length]
    user, created = user_model.objects.get_or_create(**{user_model.USERNAME_FIELD: username})
    if created:
        user.set_unusable_password()
        user.save()
    return user


def api_key_create(
    *,
    name: str,
    scopes: Iterable[str],
    actor: AbstractBaseUser | None = None,
    rate_limit: int | None = None,
) -> NewApiKey:
    """A new key for an integration; the secret is in the result and nowhere else."""
    name = name.strip()
    if not name or len(name) > ApiKey._meta.get_field("name").max_length:
        raise ApiKeyError("NAME must be 1 to 100 characters")
    clean = scopes_clean(scopes)
    with transaction.atomic():
        if ApiKey.objects.filter(name=name).exists():
            raise ApiKeyError(f"a key named {name!r} exists; revoke it or choose another name")
        if actor is None and ApiScope.MODERATE in clean:
            actor = service_user_for(name)
        prefix = secrets.token_urlsafe(6)[:8]
        secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        key = ApiKey.objects.create(
            name=name, prefix=f"{KEY_PREFIX}{prefix}", key_hash=key_hash(secret), scopes=clean,
            actor=actor, rate_limit=rate_limit,
        )
    return NewApiKey(key=key, secret=secret)


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    """From now on the key answers 401; the row stays, for the audit."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def api_key_authenticate(secret: str) -> ApiKey | None:
    """The active key with this secret, or None; notes when it was used."""
    if not secret or len(secret) > 200:
        return None
    key = (
        ApiKey.objects.select_related("actor")
        .filter(key_hash=key_hash(secret), revoked_at__isnull=True)
        .first()
    )
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def rate_limit_for(key: ApiKey) -> int:
    return key.rate_limit or settings.API_RATE_LIMIT
