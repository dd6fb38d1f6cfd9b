"""The Perspective-compatible endpoint: POST /perspective/v1alpha1/comments:analyze?key=KEY.

Coral Talk's "Perspective API endpoint" setting takes `<site>/perspective/v1alpha1`;
Open Source Moderator's analyzer takes the same base. The key is an API key
with the `analyze` scope, sent as `?key=` (as Perspective clients do) or as
a Bearer header. Errors answer Google's shape
(`{"error": {"code", "message", "status"}}`), not the /api/v1/ envelope,
since these clients parse that. The logic is moderation/perspective/service.py.
"""

from __future__ import annotations

import json
import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from moderation.perspective.batching import BatchTimeout
from moderation.perspective.service import (
    PerspectiveError,
    analyze_request_parse,
    comment_analyze,
    discovery_document,
    suggested_score_store,
)

from .auth import authenticate_request
from .errors import ApiError

logger = logging.getLogger(__name__)

# A Perspective request is one comment: 20 KB of text, a few attributes.
MAX_BODY_BYTES = 256 * 1024


def _error(exc: PerspectiveError, headers: dict[str, str] | None = None) -> JsonResponse:
    return JsonResponse(exc.as_json(), status=exc.code, headers=headers)


def _handle(request: HttpRequest, *, suggest: bool) -> JsonResponse:
    if request.method != "POST":
        return _error(PerspectiveError(f"Method {request.method} not allowed; POST JSON.",
                                       code=405), headers={"Allow": "POST"})
    try:
        authenticate_request(request, "analyze", query=True)
    except ApiError as exc:
        return _error(PerspectiveError(exc.message, code=exc.status), headers=exc.headers)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return _error(PerspectiveError(f"Request body over {MAX_BODY_BYTES} bytes.", code=413))
    try:
        body = json.loads(request.body or b"null")
    except (UnicodeDecodeError, ValueError) as exc:
        return _error(PerspectiveError(f"Invalid JSON payload received: {exc}"))
    try:
        parsed = analyze_request_parse(body, suggest=suggest)
        answer = suggested_score_store(parsed) if suggest else comment_analyze(parsed)
    except PerspectiveError as exc:
        return _error(exc)
    except BatchTimeout as exc:
        return _error(PerspectiveError(str(exc), code=503))
    return JsonResponse(answer)


@csrf_exempt
def analyze(request: HttpRequest) -> JsonResponse:
    """comments:analyze: the scores Coral and OSMod read."""
    return _handle(request, suggest=False)


@csrf_exempt
def suggest_score(request: HttpRequest) -> JsonResponse:
    """comments:suggestscore: a moderator's verdict, kept as a label for calibration."""
    return _handle(request, suggest=True)


def discovery(request: HttpRequest) -> JsonResponse:
    """Google's API discovery document for `commentanalyzer` v1alpha1, pointing here.

    Clients built on Google's API client libraries (googleapiclient's
    `discovery.build(..., discoveryServiceUrl=...)`, node's
    `google.discoverAPI(url)`) read the methods' URLs from it; giving them
    `<site>/perspective/$discovery/rest?version=v1alpha1` sends their
    analyze and suggestscore calls here.
    """
    if request.GET.get("version", "v1alpha1") != "v1alpha1":
        return _error(PerspectiveError("Only version v1alpha1 is served.", code=404))
    root = request.build_absolute_uri("/")
    return JsonResponse(discovery_document(root))
