"""/api/v1/events (the decisions feed) and /api/v1/comments/{id}/reports (reader reports).

Thin: authenticate with the scope, read the input, call one service or
selector, shape the answer. The feed's order and its cursor are explained in
moderation/decisions/events.py; reports in moderation/reports/services.py.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from ninja import Router, Schema
from pydantic import ConfigDict, Field

from moderation.decisions.events import events_sequence, events_unsequenced
from moderation.events.selectors import DEFAULT_PAGE, MAX_PAGE, event_json, events_page
from moderation.models import ApiScope, EventType, ReasonCode
from moderation.reader_reports.services import ReportError, comment_report_add

from .auth import ApiKeyAuth
from .errors import ApiError
from .selectors import comment_get

router = Router(tags=["events"])


class EventsOut(Schema):
    events: list[dict]
    next: str = Field(description="Send as `after` next time; store it once you applied "
                                  "the events.")
    has_more: bool


@router.get("/events", auth=ApiKeyAuth(ApiScope.READ), response=EventsOut,
            summary="The decisions feed: every state change after a cursor, in feed order")
def events_list(request: HttpRequest, after: str = "0", limit: int = DEFAULT_PAGE,
                type: str = "") -> dict:  # noqa: A002 - the parameter's public name
    if not after.isascii() or not after.isdecimal():
        raise ApiError(400, "after: a cursor from `next` (a whole number; 0 for the start)",
                       field="after")
    if not 1 <= limit <= MAX_PAGE:
        raise ApiError(400, f"limit: give 1 to {MAX_PAGE}", field="limit")
    types = [t.strip() for t in type.split(",") if t.strip()]
    unknown = [t for t in types if t not in EventType.values]
    if unknown:
        raise ApiError(400, f"type: {unknown[0][:40]!r} is not one of "
                            f"{', '.join(EventType.values)}", field="type")
    # What committed since the last read gets its positions first (cheap when nothing
    # did), a chunk at a time: a big import's events arrive over several reads.
    events_sequence()
    page = events_page(after=int(after), limit=limit, types=types)
    return {
        "events": [event_json(event, page.threads) for event in page.events],
        "next": str(page.next_cursor),
        "has_more": page.has_more or events_unsequenced(),
    }


class ReportIn(Schema):
    model_config = ConfigDict(extra="forbid")
    reporter: str = Field(description="The site's opaque id for the reader (kept hashed).",
                          max_length=255)
    reason: ReasonCode = Field(description="One of the reason codes (docs/moderation.md).")
    note: str = Field("", max_length=500, description="What the reader wrote, if anything.")


@router.post("/comments/{comment_id}/reports", auth=ApiKeyAuth(ApiScope.INGEST),
             summary="A reader reports a comment (one report per reporter per comment)")
def comment_report(request: HttpRequest, comment_id: int, payload: ReportIn) -> JsonResponse:
    comment = comment_get(comment_id=comment_id)
    try:
        result = comment_report_add(comment=comment, reporter_id=payload.reporter,
                                    reason=payload.reason.value, note=payload.note)
    except ReportError as exc:
        raise ApiError(400, str(exc), field=exc.field) from None
    summary = result.summary
    comment.refresh_from_db(fields=["state", "version", "needs_review"])
    body = {
        "report": {"id": result.report.pk, "reason": result.report.reason,
                   "created_at": result.report.created_at.isoformat()},
        "created": result.created,
        "comment": {"id": comment.pk, "state": comment.state, "version": comment.version,
                    "needs_review": comment.needs_review},
        "reports": {"count": summary.count, "reasons": summary.reasons},
        "sent_to_review": result.decision is not None,
    }
    return JsonResponse(body, status=201 if result.created else 200)
