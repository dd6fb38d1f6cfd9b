"""A small JSON API over the decision services, for scripts and the 403 contract.

POST /moderation/api/comments/<id>/<action>/ with form fields `reason`, `note`
and `expected_version`; `action` is one of the moderator actions (approve,
flag, hide, restore, hide_branch), validated by the same form as the
dashboard's. 200 with the decisions; 202 with a job and the URL to poll
(GET /moderation/api/branch-jobs/<id>/) for a `hide_branch` over
BRANCH_HIDE_SYNC_MAX comments, which a worker finishes in the background;
400 for an illegal transition or bad input (naming the parameter); 403
without `moderation.moderate_comment`; 404 for an unknown comment or action;
409 when the comment changed since the moderator saw it.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from moderation.decisions.forms import ModerationActionForm, form_errors_text
from moderation.decisions.permissions import moderator_required
from moderation.decisions.selectors import branch_job_get
from moderation.decisions.services import StaleDecision, comments_bulk_action_apply
from moderation.decisions.states import MODERATOR_ACTIONS
from moderation.models import BranchHideJob, Decision
from threads.models import Comment


def _decision_json(decision: Decision) -> dict:
    return {
        "id": decision.pk,
        "comment": decision.comment_id,
        "action": decision.action,
        "from_state": decision.from_state,
        "to_state": decision.to_state,
        "reason": decision.reason,
        "created_at": decision.created_at.isoformat(),
    }


def _job_json(job: BranchHideJob) -> dict:
    return {
        "id": job.pk,
        "kind": job.kind,
        "comment": job.root_id,
        "state": job.state,
        "total": job.total,
        "done": job.done,
        "changed": job.changed,
        "error": job.error,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "url": reverse("moderation_api:branch-job", args=[job.pk]),
    }


# The permission check comes first: a non-moderator gets 403 whatever the method.
@moderator_required(redirect_anonymous=False)
@require_POST
def comment_action(request: HttpRequest, comment_id: int, action: str) -> JsonResponse:
    if action not in MODERATOR_ACTIONS:
        return JsonResponse({"error": f"unknown action {action!r}"}, status=404)
    comment = get_object_or_404(Comment, pk=comment_id)
    form = ModerationActionForm({
        "action": action,
        "comment": [str(comment.pk)],
        "reason": request.POST.get("reason", ""),
        "note": request.POST.get("note", ""),
        "version": request.POST.get("expected_version", ""),
    })
    if not form.is_valid():
        return JsonResponse({"error": form_errors_text(form)}, status=400)
    data = form.cleaned_data
    result = comments_bulk_action_apply(
        comment_ids=[comment.pk], action=action, actor=request.user, reason=data["reason"],
        note=data["note"], expected_versions=data["versions"],
    )
    for refusal in result.refused:
        if isinstance(refusal, StaleDecision):
            return JsonResponse(
                {"error": str(refusal), "version": refusal.comment.version,
                 "state": refusal.comment.state},
                status=409,
            )
        return JsonResponse({"error": str(refusal)}, status=400)
    comment.refresh_from_db(fields=["state", "version"])
    body = {
        "comment": comment.pk,
        "state": comment.state,
        "version": comment.version,
        "decisions": [_decision_json(d) for d in result.decisions],
    }
    if result.jobs:
        # The comment itself is hidden already; its replies follow in the background.
        (job,) = result.jobs
        return JsonResponse({**body, "job": _job_json(job)}, status=202,
                            headers={"Location": _job_json(job)["url"]})
    return JsonResponse(body)


@moderator_required(redirect_anonymous=False)
@require_GET
def branch_job(request: HttpRequest, job_id: int) -> JsonResponse:
    """A background branch job's progress: poll until `state` is done or failed."""
    try:
        job = branch_job_get(job_id=job_id)
    except BranchHideJob.DoesNotExist:
        return JsonResponse({"error": f"no branch job #{job_id}"}, status=404)
    return JsonResponse(_job_json(job))
