"""Search from the top bar: the queue page narrowed by `q` (search.py), with the threads
and authors whose title or name matches listed above the cards."""

from __future__ import annotations

from typing import Any

from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from moderation.decisions.forms import form_errors_text
from moderation.scoring.labels import label_table

from . import queue, search


def search_context(filters: queue.QueueFilters) -> dict[str, Any]:
    """What the queue page adds when it shows search results."""
    if filters.query is None:
        return {"search": None}
    return {"search": {
        "text": filters.query.text,
        "threads": search.threads_matching(filters.query),
        "authors": search.authors_matching(filters.query),
    }}


def search_error_page(request: HttpRequest, *, tab: str, form: Form) -> HttpResponse:
    """The queue page with the search's error in place of results (400)."""
    context = {
        "tab": tab, "sort": "score", "filters": queue.QueueFilters(), "page": None,
        "ctx": "queue", "more_url": None, "tab_counts": queue.queue_counts(),
        "sorts": queue.SORTS, "labels": label_table().values(),
        "sources": queue.thread_sources(), "search_error": form_errors_text(form),
        "search": {"text": request.GET.get("q", "")[: search.MAX_QUERY_CHARS * 2],
                   "threads": [], "authors": []},
    }
    return render(request, "moderation/queue.html", context, status=400)
