"""Batch by score band: a histogram of the tab's scores, "N of M selected" with a sample,
and approve / hide the whole band as one batch with one undo.

The band is the queue's tab and filters plus a score range; what the
moderator counted is what is acted on: the POST carries the count they saw,
the snapshot (each comment's id and version) is taken when the batch starts,
and a comment changed since is left alone (moderation/decisions/services.py
`comments_batch_start`). Large bands run in the background with progress,
as a large branch hide does.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from moderation.decisions.permissions import moderator_required
from moderation.decisions.selectors import job_comment_ids
from moderation.decisions.services import BATCH_MAX, ModerationError, comments_batch_start
from moderation.models import ReasonCode
from moderation.scoring.labels import label_get

from . import queue
from .forms import BandActionForm, BandForm
from .views import LAST_BATCH, LAST_JOBS, _invalid, _respond, _unknown_tab

# Cards refreshed in place after a batch done within the request.
BATCH_CARDS_SHOWN = 100


def _band_request(request: HttpRequest, tab: str) -> dict | HttpResponse:
    """The band's context from the query string, or the 400 saying what is wrong with it."""
    if (refused := _unknown_tab(tab)) is not None:
        return refused
    form = BandForm(request.GET)
    if not form.is_valid():
        return _invalid(form)
    data = form.cleaned_data
    filters = form.filters()
    return {
        "tab": tab, "filters": filters, "lo": data["lo"], "hi": data["hi"],
        "filter_query": filters.as_query(), "reasons": ReasonCode.choices,
        "label_name": label_get(filters.label).display_name if filters.label else "",
        "summary": queue.band_summary(tab=tab, filters=filters, low=data["lo"], high=data["hi"]),
    }


@moderator_required
@require_GET
def band_panel(request: HttpRequest, tab: str) -> HttpResponse:
    """The histogram, the range inputs and the band's summary (loaded when the panel opens)."""
    context = _band_request(request, tab)
    if isinstance(context, HttpResponse):
        return context
    context["histogram"] = queue.score_histogram(tab=tab, filters=context["filters"])
    return render(request, "dashboard/_band_panel.html", context)


@moderator_required
@require_GET
def band_summary(request: HttpRequest, tab: str) -> HttpResponse:
    """"N of M selected", the sample and the action buttons, for a new range."""
    context = _band_request(request, tab)
    if isinstance(context, HttpResponse):
        return context
    return render(request, "dashboard/_band_summary.html", context)


@moderator_required
@require_POST
def band_act(request: HttpRequest) -> HttpResponse:
    """Approve or hide every comment of the band the moderator counted, as one batch."""
    form = BandActionForm(request.POST)
    tab = request.POST.get("tab") or "review"
    if not form.is_valid():
        return _respond(request, ctx="queue", tab=tab, cards=[],
                        flash=f"Nothing changed: {_errors(form)}.")
    data = form.cleaned_data
    filters = form.filters()
    items = queue.band_items(tab=data["tab"], filters=filters, low=data["lo"], high=data["hi"],
                             limit=BATCH_MAX)
    if len(items) != data["expected"]:
        more = f"more than {BATCH_MAX:,}" if len(items) > BATCH_MAX else f"{len(items):,}"
        return _respond(request, ctx="queue", tab=data["tab"], cards=[], flash=(
            f"Nothing changed: the band now holds {more} comments, not the "
            f"{data['expected']:,} you saw. Look at the band again, then act."))
    band = f"{data['lo']:.2f}–{data['hi']:.2f}"
    what = f"score band {band} in {queue.TABS[data['tab']]}"
    if filters.active:
        what += " (" + ", ".join(f"{k}={v}" for k, v in filters.as_query().items()) + ")"
    try:
        job = comments_batch_start(
            items=items, action=data["band_action"], actor=request.user,
            reason=data["reason"] or "", note=(data["note"] or "").strip(), description=what,
        )
    except ModerationError as exc:
        return _respond(request, ctx="queue", tab=data["tab"], cards=[],
                        flash=f"Nothing changed: {exc}.")
    request.session[LAST_BATCH] = []
    request.session[LAST_JOBS] = [job.pk]
    cards = job_comment_ids(job=job, limit=BATCH_CARDS_SHOWN) if job.finished else []
    if job.finished:
        verb = "Approved" if job.action == "approve" else "Hid"
        flash = f"{verb} {job.changed:,} of {job.total:,} comments ({what})."
    else:
        verb = "Approving" if job.action == "approve" else "Hiding"
        flash = f"{verb} {job.total:,} comments in the background ({what})…"
    return _respond(request, ctx="queue", tab=data["tab"], cards=cards, flash=flash,
                    undo_label="Undo", new_jobs=[job])


def _errors(form: BandActionForm) -> str:
    return "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
