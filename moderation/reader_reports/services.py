"""Storing reader reports: one per reporter per comment, counted, announced, acted on at N.

`comment_report_add` is the one write path (the API's report endpoint calls
it). In one transaction, with the comment row locked: the report, the
comment's CommentReportSummary (what the Reported tab sorts by), the
`report.received` event, and, when the count reaches REPORTS_REVIEW_AFTER,
the system decision that sends the comment to review: a pending comment
enters the review queue, an approved one is flagged. Never over a human: a
comment a moderator already decided on (this text) stays as it is and shows
in the Reported tab until a moderator acts on it again.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from moderation.decisions.events import report_event_record
from moderation.decisions.services import (
    ModerationError,
    comment_action_apply,
    comment_review_mark,
)
from moderation.models import Action, CommentReport, CommentReportSummary, Decision, ReasonCode
from threads.models import Comment

REPORTER_MAX_CHARS = 255
NOTE_MAX_CHARS = 500


class ReportError(ValueError):
    """A report was refused; `field` names the bad input."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


@dataclass
class ReportResult:
    report: CommentReport
    created: bool  # False: this reporter had reported the comment already
    summary: CommentReportSummary
    decision: Decision | None  # the system decision the report triggered, if any


def reporter_hash(reporter_id: str) -> str:
    """The stored form of a site's reporter id (salted, one way)."""
    key = f"report:{settings.AUTHOR_HASH_SALT}".encode()
    return hmac.new(key, reporter_id.encode(), hashlib.sha256).hexdigest()


def _clean(reporter_id: str, reason: str, note: str) -> tuple[str, str, str]:
    if not isinstance(reporter_id, str) or not reporter_id.strip():
        raise ReportError("reporter: an opaque reporter id is required", field="reporter")
    if len(reporter_id) > REPORTER_MAX_CHARS:
        raise ReportError(f"reporter: at most {REPORTER_MAX_CHARS} characters", field="reporter")
    if reason not in ReasonCode.values:
        raise ReportError(f"reason: {str(reason)[:40]!r} is not one of "
                          f"{', '.join(ReasonCode.values)}", field="reason")
    if not isinstance(note, str) or len(note) > NOTE_MAX_CHARS:
        raise ReportError(f"note: at most {NOTE_MAX_CHARS} characters", field="note")
    for name, value in (("reporter", reporter_id), ("note", note)):
        if "\x00" in value:
            raise ReportError(f"{name}: NUL characters are not allowed", field=name)
    return reporter_id.strip(), reason, note.strip()


def comment_report_add(*, comment: Comment | int, reporter_id: str, reason: str,
                       note: str = "") -> ReportResult:
    """Record a reader's report on a comment (Comment.DoesNotExist for an unknown one)."""
    reporter_id, reason, note = _clean(reporter_id, reason, note)
    comment_id = comment.pk if isinstance(comment, Comment) else comment
    digest = reporter_hash(reporter_id)
    with transaction.atomic():
        locked = Comment.objects.select_for_update().get(pk=comment_id)
        existing = CommentReport.objects.filter(comment=locked, reporter=digest).first()
        summary = CommentReportSummary.objects.filter(comment=locked).first()
        if existing is not None:
            assert summary is not None
            return ReportResult(existing, False, summary, None)
        report = CommentReport.objects.create(comment=locked, reporter=digest, reason=reason,
                                              note=note)
        now = timezone.now()
        if summary is None:
            summary = CommentReportSummary(comment=locked, count=0, reasons={},
                                           last_reported_at=now)
        reasons = Counter(summary.reasons)
        reasons[reason] += 1
        summary.count += 1
        summary.reasons = dict(reasons.most_common())
        summary.last_reported_at = now
        summary.save()
        report_event_record(report=report, summary=summary)
        decision = _review_when_reported(locked, summary)
    return ReportResult(report, True, summary, decision)


def _review_when_reported(comment: Comment, summary: CommentReportSummary) -> Decision | None:
    threshold = settings.REPORTS_REVIEW_AFTER
    if not threshold or summary.count < threshold:
        return None
    note = f"{summary.count} reader reports"
    if comment.state == Comment.State.PENDING:
        return comment_review_mark(comment=comment, needs_review=True, ml=None, note=note)
    if comment.state == Comment.State.APPROVED:
        top_reason = next(iter(summary.reasons))
        try:
            return comment_action_apply(comment=comment, action=Action.FLAG, actor=None,
                                        reason=top_reason, note=note)
        except ModerationError:
            return None
    return None
