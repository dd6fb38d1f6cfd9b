"""The versioned JSON API: one NinjaAPI under API_PREFIX (/api/v1/), its routers, its schema.

Each feature's routes live in their own module (`v1_comments`, `v1_threads`, …)
and are added here, one line each. The OpenAPI schema is served at
/api/v1/openapi.json; there is no browsable docs page, since Swagger UI needs
inline script that the Content-Security-Policy refuses.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema

from .auth import ApiKeyAuth
from .errors import ApiError, install_handlers
from .schemas import DOCUMENTED


class ThreadkeeperApi(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        """The generated schema, plus the bodies that routes read themselves (schemas.py)."""
        schema = super().get_openapi_schema(**kwargs)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in DOCUMENTED:
            body = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(body.pop("$defs", {}))
            components[model.__name__] = body
        error = {"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
        for methods in schema["paths"].values():
            for method, operation in methods.items():
                statuses = ["400", "401", "403", "404", "405", "429", "503"]
                if method in ("post", "patch", "put", "delete"):
                    statuses += ["409", "413", "415"]
                for status in statuses:
                    operation.setdefault("responses", {}).setdefault(
                        status, {"description": ERROR_DESCRIPTIONS[status], **error})
        return schema


ERROR_DESCRIPTIONS = {
    "400": "Bad input; `field` names it", "401": "No key, or an unknown or revoked one",
    "403": "The key lacks this scope", "404": "No such object or endpoint",
    "405": "Method not allowed (`Allow`)", "409": "Changed since read (`acted_by`, `version`)",
    "413": "Body or batch too large", "415": "Not application/json",
    "429": "Rate limit (`Retry-After`)", "503": "Database busy or down (`Retry-After`)",
}


api = ThreadkeeperApi(
    title="Threadkeeper API",
    version="1",
    description=(
        "Send comments in, read their moderation state, act on them. Authenticate with "
        "`Authorization: Bearer <key>` (`python manage.py create_api_key`). Every error is "
        '`{"error": {"code", "message", "field"?}}`. See docs/api.md.'
    ),
    urls_namespace="api_v1",
    docs_url=None,
    openapi_url="/openapi.json",
)
install_handlers(api)


class KeyOut(Schema):
    name: str
    prefix: str
    scopes: list[str]
    actor: str | None
    rate_limit_per_minute: int


@api.get("/key", response=KeyOut, auth=ApiKeyAuth(None), tags=["keys"],
         summary="The calling key: its name, scopes and rate limit")
def key_info(request: HttpRequest) -> dict:
    from .keys import rate_limit_for

    key = request.auth
    return {
        "name": key.name, "prefix": key.prefix, "scopes": key.scopes,
        "actor": key.actor.get_username() if key.actor else None,
        "rate_limit_per_minute": rate_limit_for(key),
    }


def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Anything under /api/v1/ that no route matches."""
    return ApiError(404, f"no API endpoint at {request.path_info}").response()


# --- routers, one line each -------------------------------------------------------------
from . import v1_comments, v1_threads  # noqa: E402

api.add_router("/", v1_comments.router)
api.add_router("/", v1_threads.router)
from . import v1_events  # noqa: E402

api.add_router("/", v1_events.router)
