"""/api/v1/comments (ingest, edit, author deletion, read, act), /actions, /decisions, /branch-jobs.

Thin: each route authenticates with its scope, reads its input, calls one
service or selector and shapes the answer (serialize.py).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from ninja import Router

from moderation.decisions.selectors import branch_job_get
from moderation.decisions.services import ModerationError, comment_author_delete, comment_undo
from moderation.decisions.states import AUTHOR_DELETED
from moderation.models import ApiScope, BranchHideJob
from threads.services import StaleEdit, comment_body_edit

from .actions import comment_action_request, comment_actions_request, refusal_error
from .auth import ApiKeyAuth
from .errors import ApiError, json_body
from .ingest import comments_ingest, items_from_body
from .schemas import ActionIn, BulkActionIn, BulkItemIn, CommentBatchIn, CommentIn, EditIn
from .selectors import (
    comment_decisions,
    comment_get,
    comment_scores,
    comments_thread_sources,
    decision_get,
    sources_premoderated,
)
from .serialize import comment_json, decision_json, job_json, score_json

router = Router(tags=["comments"])

INGEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"oneOf": [
            {"$ref": f"#/components/schemas/{CommentIn.__name__}"},
            {"$ref": f"#/components/schemas/{CommentBatchIn.__name__}"},
        ]}}},
    }
}


def _actor(request: HttpRequest):
    key = request.auth
    if key.actor is None:
        raise ApiError(403, f"key {key.name!r} has no user to record decisions as; "
                            "set its actor in admin")
    return key.actor


def _comment_out(comment, **kwargs) -> dict:
    premoderated = sources_premoderated(sources=[comment.thread.source])[comment.thread.source]
    return comment_json(comment, premoderated=premoderated, **kwargs)


@router.post("/comments", auth=ApiKeyAuth(ApiScope.INGEST), openapi_extra=INGEST_BODY,
             summary="Send one comment, or a batch of up to API_MAX_BATCH")
def comments_post(request: HttpRequest) -> JsonResponse:
    items, batch = items_from_body(json_body(request))
    results = comments_ingest(items=items, batch=batch)
    if not batch:
        (result,) = results
        if result.error is not None:
            error = dict(result.error)
            status = 409 if error["code"] == "conflict" else 400
            raise ApiError(status, error.pop("message"), code=error.pop("code"),
                           field=error.pop("field", None))
        return JsonResponse(result.as_dict(), status=201 if result.status == "created" else 200)
    counts = {s: 0 for s in ("created", "updated", "unchanged", "error")}
    for result in results:
        counts[result.status] += 1
    return JsonResponse({"counts": counts, "results": [r.as_dict() for r in results]})


@router.get("/comments/{comment_id}", auth=ApiKeyAuth(ApiScope.READ),
            summary="A comment: state, version, visible, scores (with model key), decisions")
def comment_read(request: HttpRequest, comment_id: int) -> dict:
    comment = comment_get(comment_id=comment_id)
    out = _comment_out(comment)
    out["thread"] = {"id": comment.thread.pk, "source": comment.thread.source,
                     "external_id": comment.thread.external_id}
    out["parent_external_id"] = (
        comment.parent.external_id if comment.parent_id is not None else None)
    out["scores"] = [score_json(s, current_hash=comment.content_hash)
                     for s in comment_scores(comment=comment)]
    out["decisions"] = [decision_json(d) for d in comment_decisions(comment=comment)]
    return out


@router.patch("/comments/{comment_id}", auth=ApiKeyAuth(ApiScope.INGEST),
              summary="The author edited the comment: new body, re-scored")
def comment_edit(request: HttpRequest, comment_id: int, payload: EditIn) -> dict:
    comment = comment_get(comment_id=comment_id)
    if comment.source_state == AUTHOR_DELETED:
        raise ApiError(409, f"comment #{comment.pk} was deleted by its author; "
                            "it takes no more edits")
    try:
        edited = comment_body_edit(comment=comment, body=payload.body,
                                   expected_version=payload.expected_version)
    except ValidationError as exc:
        raise ApiError(400, " ".join(exc.messages), field="body") from None
    except StaleEdit as exc:
        raise ApiError(409, str(exc), code="stale_version",
                       extra={"version": exc.comment.version}) from None
    edited.thread = comment.thread
    return _comment_out(edited)


@router.delete("/comments/{comment_id}", auth=ApiKeyAuth(ApiScope.INGEST),
               summary="The author deleted the comment: hidden for good")
def comment_delete(request: HttpRequest, comment_id: int) -> dict:
    comment = comment_get(comment_id=comment_id)
    comment_author_delete(comment=comment, note=f"via API key {request.auth.name}")
    comment.refresh_from_db(fields=["state", "version", "needs_review", "source_state"])
    return _comment_out(comment)


def _action_answer(outcome, comment) -> JsonResponse:
    comment.refresh_from_db(fields=["state", "version", "needs_review", "source_state"])
    body = {"comment": _comment_out(comment, body=False),
            "decisions": [decision_json(d) for d in outcome.decisions]}
    if outcome.jobs:
        (job,) = outcome.jobs
        url = f"/api/v1/branch-jobs/{job.pk}"
        return JsonResponse({**body, "job": job_json(job, url=url)}, status=202,
                            headers={"Location": url})
    return JsonResponse(body)


@router.post("/comments/{comment_id}/actions", auth=ApiKeyAuth(ApiScope.MODERATE),
             summary="Approve, flag, hide, restore or hide_branch, with reason and version")
def comment_act(request: HttpRequest, comment_id: int, payload: ActionIn) -> JsonResponse:
    comment = comment_get(comment_id=comment_id)
    outcome = comment_action_request(data=payload.dict(), comment_id=comment.pk,
                                     actor=_actor(request))
    return _action_answer(outcome, comment)


@router.post("/actions", auth=ApiKeyAuth(ApiScope.MODERATE),
             summary="One action on many comments; a result per comment")
def comments_act(request: HttpRequest, payload: BulkActionIn) -> dict:
    versions: dict[int, int | None] = {}
    for item in payload.comments:
        if isinstance(item, BulkItemIn):
            versions[item.id] = item.expected_version
        else:
            versions[item] = None
    if not versions:
        raise ApiError(400, "comments: give at least one comment", field="comments")
    outcome = comment_actions_request(
        data=payload.dict(exclude={"comments"}), comment_ids=list(versions),
        versions=versions, actor=_actor(request),
    )
    decided: dict[int, list] = {}
    for decision in outcome.decisions:
        decided.setdefault(decision.comment_id, []).append(decision)
    jobs = {job.root_id: job for job in outcome.jobs}
    current = {c.pk: c for c in _comments_now(list(versions))}
    premod = _premoderated_by_comment(current.values())
    results = []
    for comment_id in versions:
        if comment_id in outcome.refused:
            error = outcome.refused[comment_id]
            results.append({"id": comment_id, "status": "refused", "http_status": error.status,
                            **error.as_dict()})
            continue
        comment = current[comment_id]
        entry = {"id": comment_id, "status": "done", "state": comment.state,
                 "version": comment.version,
                 "visible": comment_json(comment, premoderated=premod[comment_id])["visible"],
                 "decisions": [decision_json(d) for d in decided.get(comment_id, [])]}
        if comment_id in jobs:
            entry["status"] = "started"
            entry["job"] = job_json(jobs[comment_id],
                                    url=f"/api/v1/branch-jobs/{jobs[comment_id].pk}")
        results.append(entry)
    return {"results": results}


def _comments_now(ids: list[int]):
    from threads.models import Comment

    return Comment.objects.filter(pk__in=ids).only(
        "id", "thread_id", "state", "version", "source_state")


def _premoderated_by_comment(comments) -> dict[int, bool]:
    comments = list(comments)
    sources = comments_thread_sources(comments=comments)
    modes = sources_premoderated(sources=set(sources.values()))
    return {cid: modes[source] for cid, source in sources.items()}


@router.post("/decisions/{decision_id}/undo", auth=ApiKeyAuth(ApiScope.MODERATE),
             summary="Reverse a decision this key's user made (a new decision)")
def decision_undo(request: HttpRequest, decision_id: int) -> dict:
    decision = decision_get(decision_id=decision_id)
    actor = _actor(request)
    if decision.actor_id != actor.pk:
        raise ApiError(403, f"decision #{decision.pk} was not made by {actor.get_username()}; "
                            "a key undoes only its own decisions")
    try:
        undo = comment_undo(decision=decision, actor=actor)
    except ModerationError as exc:
        raise refusal_error(exc) from None
    comment = comment_get(comment_id=decision.comment_id)
    return {"comment": _comment_out(comment, body=False), "decisions": [decision_json(undo)]}


@router.get("/branch-jobs/{job_id}", auth=ApiKeyAuth(ApiScope.MODERATE),
            summary="A background branch hide's progress")
def branch_job_read(request: HttpRequest, job_id: int) -> dict:
    try:
        job = branch_job_get(job_id=job_id)
    except BranchHideJob.DoesNotExist:
        raise ApiError(404, f"no branch job #{job_id}") from None
    return job_json(job, url=f"/api/v1/branch-jobs/{job.pk}")
