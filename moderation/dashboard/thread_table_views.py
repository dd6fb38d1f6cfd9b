"""The threads table (/threads/): every thread with its counts, sortable, by source."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from moderation.decisions.forms import form_errors_text
from moderation.decisions.permissions import moderator_required

from . import queue
from .forms import ThreadsTableForm


@moderator_required
@require_GET
def threads_table(request: HttpRequest) -> HttpResponse:
    form = ThreadsTableForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(form_errors_text(form),
                                      content_type="text/plain; charset=utf-8")
    data = form.cleaned_data
    table = queue.threads_table(sort=data["sort"], source=data["source"], page=data["page"])
    params = {"sort": data["sort"], **({"source": data["source"]} if data["source"] else {})}
    return render(request, "dashboard/threads_table.html", {
        "table": table, "sort": data["sort"], "source": data["source"],
        "sorts": queue.THREAD_SORTS, "sources": queue.thread_sources(), "params": params,
        "states": queue.State.values, "tab_counts": queue.queue_counts(),
        "ctx": "threads",
    })
