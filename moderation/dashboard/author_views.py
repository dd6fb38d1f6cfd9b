"""The author page's standing panel: ban, suspend until, trust, pre-moderate, private notes.

Every change is a POST through AuthorActionForm to `author_decide`
(moderation/decisions/authors.py), then a redirect back to the author page
with a message; a refused change (already banned, no reason, a date in the
past) is shown there and changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from moderation.decisions.authors import author_decide
from moderation.decisions.forms import form_errors_text
from moderation.decisions.permissions import moderator_required
from moderation.decisions.selectors import (
    author_decisions,
    author_notes,
    author_standing_get,
    branch_job_undo_of,
)
from moderation.decisions.services import ModerationError
from moderation.models import AuthorAction, ReasonCode
from threads.models import Author

from .forms import AuthorActionForm


def author_standing_context(request: HttpRequest, author: Author) -> dict[str, Any]:
    """The standing, the decisions about the author and their notes, for author.html."""
    standing = author_standing_get(author_id=author.pk)
    now = timezone.now()
    decisions = author_decisions(author_id=author.pk)
    ban_jobs = [
        {"decision": d, "undo": branch_job_undo_of(job=d.job)}
        for d in decisions if d.action == AuthorAction.BAN and d.job_id is not None
    ][:1]
    return {
        "standing": standing,
        "banned": bool(standing and standing.banned),
        "suspended": bool(standing and standing.suspended_at(now)),
        "trusted": bool(standing and standing.trusted),
        "premoderated": bool(standing and standing.premoderated),
        "author_decisions": decisions,
        "author_notes": author_notes(author_id=author.pk),
        "ban_jobs": ban_jobs,
        "author_reasons": ReasonCode.choices,
        "tomorrow": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
    }


@moderator_required
@require_POST
def author_act(request: HttpRequest, author_id: int) -> HttpResponse:
    author = get_object_or_404(Author, pk=author_id)
    form = AuthorActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing changed: {form_errors_text(form)}.")
        return redirect("moderation:author", author_id=author.pk)
    data = form.cleaned_data
    try:
        decision = author_decide(
            author=author, action=data["action"], actor=request.user,
            reason=data["reason"] or "", note=data["note"] or "", until=data["until"],
            target_id=data["target"],
        )
    except ModerationError as exc:
        messages.error(request, f"Nothing changed: {exc}.")
        return redirect("moderation:author", author_id=author.pk)
    messages.success(request, _done_text(decision))
    return redirect("moderation:author", author_id=author.pk)


def _done_text(decision) -> str:
    name = decision.author.name or f"author #{decision.author_id}"
    texts = {
        AuthorAction.BAN: f"Banned {name}: their new comments are hidden as they arrive.",
        AuthorAction.UNBAN: f"Lifted the ban on {name}.",
        AuthorAction.SUSPEND: (f"Suspended {name} until "
                               f"{timezone.localtime(decision.until):%Y-%m-%d %H:%M %Z}."),
        AuthorAction.UNSUSPEND: f"Lifted the suspension of {name}.",
        AuthorAction.TRUST: f"Trusted {name}: comments under every threshold are approved.",
        AuthorAction.UNTRUST: f"Stopped trusting {name}.",
        AuthorAction.PREMODERATE: f"Pre-moderating {name}: everything they post is reviewed.",
        AuthorAction.UNPREMODERATE: f"Stopped pre-moderating {name}.",
        AuthorAction.NOTE: "Note added.",
        AuthorAction.WITHDRAW_NOTE: "Note withdrawn.",
    }
    text = texts[decision.action]
    job = decision.job
    if job is not None:
        if job.finished:
            text += f" Hid {job.changed:,} of their pending comments."
        else:
            text += f" Hiding their {job.total:,} pending comments in the background."
    return text
