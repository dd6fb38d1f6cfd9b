"""A small JSON API over the decision services, for scripts and the 403 contract.

POST /moderation/api/comments/<id>/<action>/ with form fields `reason`, `note`
and `expected_version`. 200 with the decision; 400 for an illegal transition
or bad input; 403 without `moderation.moderate_comment`; 404 for an unknown
comment; 409 when the comment changed since the moderator saw it.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from threads.models import Comment

from . import services
from .models import Decision
from .permissions import moderator_required

BRANCH_HIDE = "branch-hide"


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


# The permission check comes first: a non-moderator gets 403 whatever the method.
@moderator_required(redirect_anonymous=False)
@require_POST
def comment_action(request: HttpRequest, comment_id: int, action: str) -> JsonResponse:
    # The URL's action names are the Action values the services accept.
    if action not in services.TRANSITIONS and action != BRANCH_HIDE:
        return JsonResponse({"error": f"unknown action {action!r}"}, status=404)
    comment = get_object_or_404(Comment, pk=comment_id)
    raw_version = request.POST.get("expected_version", "").strip()
    try:
        expected = int(raw_version) if raw_version else None
    except ValueError:
        return JsonResponse(
            {"error": f"expected_version must be a whole number, not {raw_version!r}"},
            status=400,
        )
    kwargs = {
        "comment": comment,
        "actor": request.user,
        "reason": request.POST.get("reason", ""),
        "note": request.POST.get("note", ""),
        "expected_version": expected,
    }
    try:
        if action == BRANCH_HIDE:
            decisions = services.comment_branch_hide(**kwargs)
        else:
            decisions = [services.comment_act(action=action, **kwargs)]
    except services.StaleDecision as exc:
        return JsonResponse(
            {"error": str(exc), "version": exc.comment.version, "state": exc.comment.state},
            status=409,
        )
    except services.ModerationError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    comment.refresh_from_db(fields=["state", "version"])
    return JsonResponse(
        {
            "comment": comment.pk,
            "state": comment.state,
            "version": comment.version,
            "decisions": [_decision_json(d) for d in decisions if d is not None],
        }
    )
