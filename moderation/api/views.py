"""The session API: the moderator's own login (session + CSRF) instead of an API key.

POST /moderation/api/comments/<id>/<action>/ with form fields `reason`, `note`
and `expected_version`. The same code path as POST /api/v1/comments/<id>/actions
(moderation/api/actions.py) and the same answers: 200 with the comment and the
decisions; 202 with a job to poll (GET /moderation/api/branch-jobs/<id>/) for a
`hide_branch` over BRANCH_HIDE_SYNC_MAX comments; every error the JSON
envelope of docs/api.md: 400 for an illegal transition or bad input (naming
the field), 403 without `moderation.moderate_comment`, 404 for an unknown
comment or action, 405 for another method, 409 (naming who acted) when the
comment changed since the moderator saw it.
"""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from moderation.decisions.permissions import moderator_required
from moderation.decisions.selectors import branch_job_get
from moderation.decisions.states import MODERATOR_ACTIONS
from moderation.models import BranchHideJob
from threads.models import Comment

from .actions import comment_action_request
from .errors import ApiError, error_response
from .selectors import sources_premoderated
from .serialize import comment_json, decision_json, job_json


def _json_errors(view):
    """Refusals as the API's error envelope (a 403 and 405 included)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except ApiError as exc:
            return exc.response()
        except PermissionDenied as exc:
            return error_response(403, str(exc) or "forbidden")
        if response.status_code == 405:
            return error_response(405, f"{request.method} is not allowed here",
                                  headers={"Allow": response.get("Allow", "")})
        return response

    return wrapper


def _job_url(job: BranchHideJob) -> str:
    return reverse("moderation_api:branch-job", args=[job.pk])


# The permission check comes first: a non-moderator gets 403 whatever the method.
@_json_errors
@moderator_required(redirect_anonymous=False)
@require_POST
def comment_action(request: HttpRequest, comment_id: int, action: str) -> JsonResponse:
    if action not in MODERATOR_ACTIONS:
        raise ApiError(404, f"unknown action {action!r}")
    comment = Comment.objects.select_related("thread").filter(pk=comment_id).first()
    if comment is None:
        raise ApiError(404, f"no comment #{comment_id}")
    outcome = comment_action_request(
        data={"action": action, "reason": request.POST.get("reason", ""),
              "note": request.POST.get("note", ""),
              "expected_version": request.POST.get("expected_version") or None},
        comment_id=comment.pk, actor=request.user,
    )
    comment.refresh_from_db(fields=["state", "version", "needs_review", "source_state"])
    premoderated = sources_premoderated(sources=[comment.thread.source])[comment.thread.source]
    body = {
        "comment": comment.pk,
        "state": comment.state,
        "version": comment.version,
        "visible": comment_json(comment, premoderated=premoderated)["visible"],
        "decisions": [decision_json(d) for d in outcome.decisions],
    }
    if outcome.jobs:
        # The comment itself is hidden already; its replies follow in the background.
        (job,) = outcome.jobs
        return JsonResponse({**body, "job": job_json(job, url=_job_url(job))}, status=202,
                            headers={"Location": _job_url(job)})
    return JsonResponse(body)


@_json_errors
@moderator_required(redirect_anonymous=False)
@require_GET
def branch_job(request: HttpRequest, job_id: int) -> JsonResponse:
    """A background branch job's progress: poll until `state` is done or failed."""
    try:
        job = branch_job_get(job_id=job_id)
    except BranchHideJob.DoesNotExist:
        raise ApiError(404, f"no branch job #{job_id}") from None
    return JsonResponse(job_json(job, url=_job_url(job)))
