"""Moderator actions asked for over HTTP: the one code path for /api/v1/ and the session API.

`comment_action_request` validates the request with the dashboard's
`ModerationActionForm`, applies it with `comments_bulk_action_apply` and
turns a refusal into an ApiError: 400 for bad input or an illegal transition,
404 for an unknown comment, 409 (naming who acted) when the comment changed
since the caller saw it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from moderation.decisions.forms import ModerationActionForm
from moderation.decisions.services import (
    IllegalTransition,
    ModerationError,
    StaleDecision,
    comments_bulk_action_apply,
)
from moderation.models import BranchHideJob, Decision

from .errors import ApiError


@dataclass
class ActionOutcome:
    decisions: list[Decision] = field(default_factory=list)
    jobs: list[BranchHideJob] = field(default_factory=list)
    # comment id -> why it was not acted on
    refused: dict[int, ApiError] = field(default_factory=dict)


def _form(data: Mapping[str, Any], comment_ids: list[int],
          versions: Mapping[int, int | None]) -> ModerationActionForm:
    fields: dict[str, Any] = {
        "action": data.get("action") or "",
        "comment": [str(i) for i in comment_ids],
        "reason": data.get("reason") or "",
        "note": data.get("note") or "",
    }
    for comment_id, version in versions.items():
        if version is not None:
            # One comment: the form's `version` field, so that an error names it.
            name = "version" if len(comment_ids) == 1 else f"v{comment_id}"
            fields[name] = str(version)
    return ModerationActionForm(fields)


def form_error(form: ModerationActionForm) -> ApiError:
    name, errors = next(iter(form.errors.items()))
    field_name = None if name == "__all__" else name
    if field_name == "version" or (field_name is None and "version" in str(errors)):
        field_name = "expected_version"
    message = " ".join(str(e) for e in errors)
    return ApiError(400, f"{field_name}: {message}" if field_name else message,
                    field=field_name)


def refusal_error(refusal: ModerationError) -> ApiError:
    if isinstance(refusal, StaleDecision):
        last = refusal.last
        return ApiError(
            409, str(refusal), code="stale_version",
            extra={
                "comment": refusal.comment.pk,
                "version": refusal.comment.version,
                "state": refusal.comment.state,
                "acted_by": (last.actor.get_username() if last and last.actor
                             else ("system" if last else None)),
                "last_action": last.action if last else None,
            },
        )
    if isinstance(refusal, IllegalTransition):
        return ApiError(400, str(refusal), code="illegal_transition", field="action",
                        extra={"state": refusal.comment.state})
    if "does not exist" in str(refusal):
        return ApiError(404, str(refusal))
    return ApiError(400, str(refusal), code="refused")


def comment_actions_request(
    *,
    data: Mapping[str, Any],
    comment_ids: list[int],
    versions: Mapping[int, int | None],
    actor: AbstractBaseUser,
) -> ActionOutcome:
    """Validate and apply one action to these comments; refusals per comment."""
    form = _form(data, comment_ids, versions)
    if not form.is_valid():
        raise form_error(form)
    clean = form.cleaned_data
    result = comments_bulk_action_apply(
        comment_ids=comment_ids, action=clean["action"], actor=actor, reason=clean["reason"],
        note=clean["note"], expected_versions=clean["versions"],
    )
    outcome = ActionOutcome(decisions=result.decisions, jobs=result.jobs)
    for refusal in result.refused:
        outcome.refused[refusal.comment_id] = refusal_error(refusal)
    return outcome


def comment_action_request(*, data: Mapping[str, Any], comment_id: int,
                           actor: AbstractBaseUser) -> ActionOutcome:
    """One comment: any refusal is raised as its ApiError."""
    outcome = comment_actions_request(
        data=data, comment_ids=[comment_id],
        versions={comment_id: data.get("expected_version")}, actor=actor,
    )
    if outcome.refused:
        raise outcome.refused[comment_id]
    return outcome
