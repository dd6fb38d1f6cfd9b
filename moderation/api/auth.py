"""Who is calling: an API key, sent as `Authorization: Bearer <key>` (or `?key=<key>`
where a client can only put it in the URL, as Perspective clients do).

`ApiKeyAuth(scope)` is the auth object every /api/v1/ operation names; it
answers 401 for a missing, unknown or revoked key, 403 for a key without
the scope, 429 past the key's rate limit. Outside django-ninja,
`authenticate_request(request, scope)` does the same and raises ApiError.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from ninja.security import HttpBearer

from moderation.models import ApiKey

from .errors import ApiError
from .keys import api_key_authenticate, rate_limit_for

RATE_WINDOW_SECONDS = 60
UNAUTHENTICATED_HEADERS = {"WWW-Authenticate": 'Bearer realm="threadkeeper"'}


def _secret_from(request: HttpRequest, *, query: bool) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if query:
        return request.GET.get("key", "")
    return ""


def rate_limit_check(key: ApiKey) -> None:
    """Count this request in the key's current minute; 429 once over its limit.

    A fixed one-minute window in the `API_RATE_LIMIT_CACHE` cache: shared by
    every process when that cache is Redis (docs/api.md), per process when
    it is the local-memory default.
    """
    limit = rate_limit_for(key)
    if not limit:
        return
    now = time.time()
    window = int(now // RATE_WINDOW_SECONDS)
    cache = caches[settings.API_RATE_LIMIT_CACHE]
    slot = f"api-rate:{key.pk}:{window}"
    try:
        cache.add(slot, 0, timeout=RATE_WINDOW_SECONDS * 2)
        count = cache.incr(slot)
    except Exception:  # noqa: BLE001 - a cache outage must not stop the API
        return
    if count > limit:
        retry_after = max(1, int((window + 1) * RATE_WINDOW_SECONDS - now) + 1)
        raise ApiError(
            429, f"rate limit of {limit} requests a minute reached for key {key.name!r}; "
                 f"retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)}, extra={"limit": limit},
        )


def authenticate_request(
    request: HttpRequest, scope: str | None, *, query: bool = False
) -> ApiKey:
    """The calling key, checked for `scope` (None: any key) and counted against its rate limit."""
    secret = _secret_from(request, query=query)
    if not secret:
        where = "Authorization: Bearer <key>" + (" or ?key=<key>" if query else "")
        raise ApiError(401, f"send an API key: {where}", headers=UNAUTHENTICATED_HEADERS)
    key = api_key_authenticate(secret)
    if key is None:
        raise ApiError(401, "unknown or revoked API key", headers=UNAUTHENTICATED_HEADERS)
    if scope is not None and not key.has_scope(scope):
        raise ApiError(
            403, f"key {key.name!r} lacks the {scope!r} scope (it has: "
                 f"{', '.join(key.scopes) or 'none'})",
            extra={"scope": scope},
        )
    rate_limit_check(key)
    request.api_key = key
    return key


class ApiKeyAuth(HttpBearer):
    """django-ninja auth: `auth=ApiKeyAuth("read")`; `request.auth` is the ApiKey."""

    def __init__(self, scope: str | None, *, query: bool = False) -> None:
        self.scope = scope
        self.query = query
        super().__init__()

    def __call__(self, request: HttpRequest) -> ApiKey:
        return authenticate_request(request, self.scope, query=self.query)

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey:  # pragma: no cover
        return authenticate_request(request, self.scope, query=self.query)
