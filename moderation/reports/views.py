"""The reports: thin views over moderation/reports/stats.py, for moderators."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from moderation.decisions.forms import form_errors_text
from moderation.decisions.permissions import moderator_required
from moderation.policy import selectors as policy_selectors
from moderation.policy.calibration import (
    ISOTONIC_MIN,
    ISOTONIC_MIN_CLASS,
    PLATT_MIN,
    PLATT_MIN_CLASS,
)
from moderation.policy.forms import ReportForm
from moderation.policy.permissions import can_manage_policy

from .stats import model_report, queue_report


def _bad(form: ReportForm) -> HttpResponse:
    return HttpResponseBadRequest(form_errors_text(form), content_type="text/plain; charset=utf-8")


@moderator_required
@require_GET
def model_view(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.GET)
    if not form.is_valid():
        return _bad(form)
    data = form.cleaned_data
    keys = policy_selectors.decided_model_keys(days=data["days"])
    model_key = data["model"] or policy_selectors.policy_model_key(days=data["days"])
    sections = model_report(model_key=model_key, days=data["days"], source=data["source"],
                            precision=data["precision"]) if model_key else []
    return render(request, "reports/model.html", {
        "form": form, "days": data["days"], "model_key": model_key, "model_keys": keys,
        "source": data["source"], "sources": policy_selectors.sources(),
        "precision": data["precision"], "sections": sections, "section": "model",
        "can_propose": can_manage_policy(request.user),
        "minimums": {"platt": PLATT_MIN, "platt_class": PLATT_MIN_CLASS,
                     "isotonic": ISOTONIC_MIN, "isotonic_class": ISOTONIC_MIN_CLASS},
    })


@moderator_required
@require_GET
def queue_view(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.GET)
    if not form.is_valid():
        return _bad(form)
    days = form.cleaned_data["days"]
    report = queue_report(days=days)
    return render(request, "reports/queue.html", {
        "report": report, "days": days, "section": "queue",
        "day_rows": list(zip(report.days, *(report.per_day[a] for a in report.per_day),
                             report.queue_size, report.oldest_hours, report.p50_hours,
                             report.p90_hours, strict=True)),
        "actions": list(report.per_day),
    })
