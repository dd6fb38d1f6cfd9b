"""The numbers behind the reports: per label (model report) and per day (queue report).

Model report: the decided comments of the window (moderation.policy), pooled
per label (moderation.policy.calibration), give the histograms, the
calibration and its reliability diagram, precision / recall at the threshold
in force and the lowest threshold that reaches the precision the site asks for.

Queue report: decisions per day by action and by moderator; the queue's size
and its oldest waiting comment at the end of each day, from the stays in the
queue (a `queue` decision to the comment's next decision) that began in the
window or the window before it; the time from a comment's arrival
(imported_at) to its first human decision, p50 and p90 per day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

import numpy as np
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from moderation.decisions import selectors as decisions
from moderation.policy.calibration import ALL_SOURCES, Calibration, calibration_fit, label_data
from moderation.policy.selectors import decided_matrix
from moderation.scoring.labels import label_get, label_table
from moderation.scoring.rules import RuleBook

from . import svg

HISTOGRAM_BINS = 20


@dataclass
class LabelReport:
    label: str
    display_name: str
    calibration: Calibration
    threshold: float
    threshold_origin: str
    precision: float | None
    recall: float | None
    selected: int
    suggested: float | None
    suggested_precision: float | None
    suggested_recall: float | None
    histogram: SafeString
    reliability: SafeString
    propose_url: str | None

    @property
    def data(self):
        return self.calibration.data


def _percent(values: list[int]) -> list[float]:
    total = sum(values)
    return [100 * v / total if total else 0.0 for v in values]


def model_report(*, model_key: str, days: int, source: str,
                 precision: float) -> list[LabelReport]:
    """One section per label with decided comments, in the label table's order."""
    decided = decided_matrix(model_key=model_key, days=days,
                             sources=[source] if source else None)
    pooled = label_data(decided)
    book = RuleBook.load(sources=[source]) if source else RuleBook([])
    order = list(label_table())
    labels = sorted({label for label, _ in pooled},
                    key=lambda name: (order.index(name) if name in order else len(order), name))
    reports = []
    for label in labels:
        data = pooled.get((label, source or ALL_SOURCES))
        if data is None:
            continue
        calibration = calibration_fit(label, source, data)
        # The thresholds of the report's model: each model family has its own defaults.
        rule = book.rule_for(source=source, thread_id=None, label=label, model_key=model_key)
        p, r, selected = data.precision_recall(rule.review_threshold)
        suggested = data.threshold_for_precision(precision)
        sp, sr, _ = data.precision_recall(suggested) if suggested is not None else (None, None, 0)
        negatives, positives = data.histogram(HISTOGRAM_BINS)
        name = label_get(label).display_name
        histogram = svg.histogram(
            title=f"{name}: scores of approved and hidden comments",
            series=[("bar-approved", f"approved ({data.n_neg:,})", _percent(negatives)),
                    ("bar-hidden", f"hidden or flagged ({data.n_pos:,})", _percent(positives))],
            marker=rule.review_threshold, marker_text=f"review at {rule.review_threshold:g}")
        reliability = svg.reliability(
            title=f"{name}: reliability of the calibration", curve=calibration.curve,
            points=calibration.reliability, marker=rule.review_threshold)
        propose = None
        if source and suggested is not None:
            propose = reverse("policy:rule_new") + "?" + urlencode({
                "source": source, "label": label, "review_threshold": suggested,
                "autohide_threshold": "" if rule.autohide_threshold is None
                else max(rule.autohide_threshold, suggested),
                "days": days, "propose": 1})
        reports.append(LabelReport(label, name, calibration, rule.review_threshold, rule.origin,
                                   p, r, selected, suggested, sp, sr, histogram, reliability,
                                   propose))
    return reports


# --- queue report ------------------------------------------------------------------

HUMAN_ACTIONS = ("approve", "flag", "hide", "restore", "undo")
SERIES_CLASSES = {"approve": "bar-approved", "flag": "bar-flagged", "hide": "bar-hidden",
                  "restore": "bar-restored", "undo": "bar-undo"}


@dataclass
class QueueReport:
    days: list[str]
    per_day: dict[str, list[int]]  # human action -> count per day
    system_per_day: dict[str, list[int]]
    moderators: list[dict]
    queue_size: list[int]
    oldest_hours: list[float | None]
    p50_hours: list[float | None]
    p90_hours: list[float | None]
    overall_p50: float | None
    overall_p90: float | None
    decided: int
    decisions_chart: SafeString
    queue_chart: SafeString
    oldest_chart: SafeString
    latency_chart: SafeString


def _day_list(since: date, until: date) -> list[date]:
    return [since + timedelta(days=i) for i in range((until - since).days + 1)]


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def queue_report(*, days: int) -> QueueReport:
    now = timezone.now()
    tz = timezone.get_current_timezone()
    since = (now - timedelta(days=days - 1)).astimezone(tz).replace(
        hour=0, minute=0, second=0, microsecond=0)
    day_list = _day_list(since.date(), now.astimezone(tz).date())
    index = {d: i for i, d in enumerate(day_list)}
    labels = [d.isoformat() for d in day_list]

    per_day = {action: [0] * len(day_list) for action in HUMAN_ACTIONS}
    system = defaultdict(lambda: [0] * len(day_list))
    for day, action, human, n in decisions.decisions_per_day(since=since):
        i = index.get(day)
        if i is None:
            continue
        if human and action in per_day:
            per_day[action][i] += n
        elif not human:
            system[action][i] += n

    moderators: dict[int, dict] = {}
    for actor_id, username, action, n, active in decisions.decisions_per_moderator(since=since):
        row = moderators.setdefault(actor_id, {"username": username, "total": 0,
                                               "active_days": 0,
                                               **{a: 0 for a in HUMAN_ACTIONS}})
        if action in HUMAN_ACTIONS:
            row[action] += n
            row["total"] += n
        row["active_days"] = max(row["active_days"], active)

    size, oldest = _queue_over_time(
        decisions.queue_stays_by_day(since=since - timedelta(days=days)), day_list, now)

    waits: list[list[float]] = [[] for _ in day_list]
    everything: list[float] = []
    for day, wait in decisions.first_human_waits(since=since):
        if wait is None:
            continue
        i = index.get(day)
        seconds = max(wait.total_seconds(), 0.0)
        everything.append(seconds)
        if i is not None:
            waits[i].append(seconds)
    p50 = [_hours(float(np.percentile(w, 50))) if w else None for w in waits]
    p90 = [_hours(float(np.percentile(w, 90))) if w else None for w in waits]
    overall50 = _hours(float(np.percentile(everything, 50))) if everything else None
    overall90 = _hours(float(np.percentile(everything, 90))) if everything else None

    return QueueReport(
        days=labels, per_day=per_day, system_per_day=dict(system),
        moderators=sorted(moderators.values(), key=lambda r: -r["total"]),
        queue_size=size, oldest_hours=oldest, p50_hours=p50, p90_hours=p90,
        overall_p50=overall50, overall_p90=overall90, decided=len(everything),
        decisions_chart=svg.stacked_bars(
            title="Moderators' decisions per day, by action", labels=labels,
            series=[(SERIES_CLASSES[a], a, per_day[a]) for a in HUMAN_ACTIONS],
            y_label="decisions"),
        queue_chart=svg.lines(title="Review queue size at the end of each day", labels=labels,
                              series=[("line-a", "comments waiting", size)],
                              y_label="comments"),
        oldest_chart=svg.lines(title="Oldest comment waiting in the queue, at the end of each day",
                               labels=labels, series=[("line-b", "hours waiting", oldest)],
                               y_label="hours"),
        latency_chart=svg.lines(title="Time from arrival to a moderator's first decision",
                                labels=labels, series=[("line-a", "p50", p50),
                                                       ("line-b", "p90", p90)],
                                y_label="hours"),
    )


def _queue_over_time(stays: list[tuple[date, date | None, int, datetime]],
                     day_list: list[date], now: datetime) -> tuple[list[int], list[float | None]]:
    """Per day: stays open at the day's end (or now, today), and the oldest one's age in hours.

    A stay that ended on day D was gone by D's end; one that ended later (or
    not yet) was open, and its group's earliest entry is a candidate for the
    oldest waiting.
    """
    sizes: list[int] = []
    oldest: list[float | None] = []
    tz = timezone.get_current_timezone()
    for day in day_list:
        end = min(datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz), now)
        open_groups = [(n, first) for entered, left, n, first in stays
                       if entered <= day and (left is None or left > day)]
        sizes.append(sum(n for n, _ in open_groups))
        first = min((first for _, first in open_groups), default=None)
        oldest.append(round((end - first).total_seconds() / 3600, 2) if first else None)
    return sizes, oldest
