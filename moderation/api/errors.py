"""The API's one error shape: `{"error": {"code", "message", "field"?}}` with the right status.

Views raise `ApiError`; the NinjaAPI's exception handlers (`install_handlers`)
turn it, pydantic's validation errors, authentication failures and anything
unexpected into that shape. `ApiErrorMiddleware` covers what never reaches a
view under /api/v1/: a path that matches no route (404), a method the route
does not take (405), a body over API_MAX_REQUEST_BYTES (413), a body that
is not JSON (415), Django's CSRF and error pages.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

# The codes a client can switch on; docs/api.md lists them.
CODE_FOR_STATUS = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class ApiError(Exception):
    """An error answer: status, a stable code, a message for people, the field at fault."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.code = code or CODE_FOR_STATUS.get(status, "error")
        self.message = message
        self.field = field
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(message)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return {"error": body}

    def response(self) -> JsonResponse:
        return JsonResponse(self.as_dict(), status=self.status, headers=self.headers)


def error_response(status: int, message: str, **kwargs: Any) -> JsonResponse:
    return ApiError(status, message, **kwargs).response()


def field_name(location: tuple | list) -> str:
    """pydantic's error location as a dotted field name (`comments.3.thread.url`)."""
    parts = [str(p) for p in location if p not in ("body", "payload", "query", "path")]
    return ".".join(parts)


def validation_error(errors: list[dict[str, Any]]) -> ApiError:
    """The first of pydantic's errors, naming its field; the rest in `details`."""
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    field = field_name(first.get("loc", ()))
    message = f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
    details = [
        {"field": field_name(e.get("loc", ())), "message": str(e.get("msg"))} for e in errors
    ]
    return ApiError(400, message, field=field or None,
                    extra={"details": details} if len(details) > 1 else None)


def install_handlers(api: Any) -> None:
    """Register the envelope for every exception a NinjaAPI view can raise."""
    from ninja.errors import AuthenticationError, HttpError
    from ninja.errors import ValidationError as NinjaValidationError

    def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return exc.response()

    def on_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        return validation_error(list(exc.errors)).response()

    def on_auth(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return error_response(401, "send an API key: Authorization: Bearer <key>",
                              headers={"WWW-Authenticate": 'Bearer realm="threadkeeper"'})

    def on_http(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return error_response(exc.status_code, str(exc))

    def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        from django.http import Http404

        if isinstance(exc, Http404):
            return error_response(404, str(exc) or "not found")
        if isinstance(exc, OperationalError):
            # SQLite's lock wait ran out, or the database went away: nothing was
            # written (the request's transaction rolled back); the client retries.
            logger.warning("API %s %s: database unavailable: %s", request.method,
                           request.path, exc)
            return error_response(503, "the database is busy or unreachable; nothing was "
                                       "written, retry shortly", headers={"Retry-After": "2"})
        logger.exception("API error on %s %s", request.method, request.path)
        return error_response(500, "internal error; it has been logged")

    api.add_exception_handler(ApiError, on_api_error)
    api.add_exception_handler(NinjaValidationError, on_validation)
    api.add_exception_handler(AuthenticationError, on_auth)
    api.add_exception_handler(HttpError, on_http)
    api.add_exception_handler(Exception, on_unexpected)


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


def _media_type(request: HttpRequest) -> str:
    return request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()


class ApiErrorMiddleware:
    """Under API_PREFIX: the body limits before any view, and JSON for every error after."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(settings.API_PREFIX):
            return self.get_response(request)
        refused = self._check_body(request)
        if refused is not None:
            return refused
        response = self.get_response(request)
        if response.status_code >= 400 and not _is_json(response):
            response = self._as_json(request, response)
        return response

    def _check_body(self, request: HttpRequest) -> HttpResponse | None:
        if request.method not in BODY_METHODS:
            return None
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(400, "Content-Length is not a number")
        limit = settings.API_MAX_REQUEST_BYTES
        if length > limit:
            return error_response(
                413, f"the request body is {length:,} bytes, over the limit of {limit:,}",
                extra={"limit": limit},
            )
        if length and _media_type(request) != "application/json":
            return error_response(
                415, f"send JSON (Content-Type: application/json), "
                     f"not {_media_type(request) or 'no Content-Type'}",
            )
        if length:
            # Read here, within our own limit: Django's DATA_UPLOAD_MAX_MEMORY_SIZE
            # (2.5 MB, meant for forms) would refuse a large batch with an HTML 400.
            request._body = request.read()  # noqa: SLF001
        return None

    def _as_json(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        status = response.status_code
        headers = {}
        if status == 405:
            allowed = response.get("Allow", "")
            headers["Allow"] = allowed
            message = f"{request.method} is not allowed here; use {allowed or 'another method'}"
        elif status == 404:
            message = f"no API endpoint at {request.path_info}"
        else:
            try:
                message = HTTPStatus(status).phrase
            except ValueError:
                message = "error"
        return error_response(status, message, headers=headers)


def json_body(request: HttpRequest) -> Any:
    """The request body parsed as JSON, or a 400 saying where it broke."""
    try:
        return json.loads(request.body or b"null")
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}", code="invalid_json") from None
