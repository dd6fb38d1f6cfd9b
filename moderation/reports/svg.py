"""Plots as server-side SVG: bars, stacked bars, lines and a reliability diagram.

Hand-built and small: each chart is a list of SVG elements written with
format_html (every value escaped), coloured by classes from policy.css or
SVG presentation attributes, never a style attribute, so it renders under the
Content-Security-Policy without a script. Every chart carries a <title> and
<desc>, and the pages show the same numbers in a table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 12, 40


@dataclass(frozen=True)
class Frame:
    """The plotting area and its scales: x and y in data units -> pixels."""

    x_min: float
    x_max: float
    y_min: float
    y_max: float
    width: int = WIDTH
    height: int = HEIGHT

    def x(self, value: float) -> float:
        span = (self.x_max - self.x_min) or 1
        return round(LEFT + (value - self.x_min) / span * (self.width - LEFT - RIGHT), 2)

    def y(self, value: float) -> float:
        span = (self.y_max - self.y_min) or 1
        return round(self.height - BOTTOM - (value - self.y_min) / span
                     * (self.height - TOP - BOTTOM), 2)


def nice_max(value: float) -> float:
    """A round axis maximum at or above value (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10 * power


def _fmt(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:g}" if value == int(value) else f"{value:.2g}"


def _axes(frame: Frame, *, x_ticks: Sequence[tuple[float, str]], y_ticks: int = 4,
          y_label: str = "", x_label: str = "") -> list[SafeString]:
    parts = [format_html('<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>',
                         LEFT, frame.y(frame.y_min), frame.width - RIGHT, frame.y(frame.y_min)),
             format_html('<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>',
                         LEFT, TOP, LEFT, frame.y(frame.y_min))]
    for i in range(y_ticks + 1):
        value = frame.y_min + (frame.y_max - frame.y_min) * i / y_ticks
        y = frame.y(value)
        parts.append(format_html(
            '<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}"/>'
            '<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>',
            LEFT, y, frame.width - RIGHT, y, LEFT - 6, y + 4, _fmt(value)))
    for value, text in x_ticks:
        x = frame.x(value)
        parts.append(format_html('<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>',
                                 x, frame.y(frame.y_min) + 16, text))
    if y_label:
        parts.append(format_html(
            '<text class="axis-label" x="12" y="{}" transform="rotate(-90 12 {})" '
            'text-anchor="middle">{}</text>', frame.height / 2, frame.height / 2, y_label))
    if x_label:
        parts.append(format_html('<text class="axis-label" x="{}" y="{}" text-anchor="middle">'
                                 '{}</text>', (LEFT + frame.width - RIGHT) / 2,
                                 frame.height - 4, x_label))
    return parts


def _svg(title: str, desc: str, parts: list[SafeString], legend: Sequence[tuple[str, str]] = (),
         frame: Frame | None = None) -> SafeString:
    width = frame.width if frame else WIDTH
    height = frame.height if frame else HEIGHT
    items = []
    for i, (css, text) in enumerate(legend):
        x = LEFT + 8 + i * 105
        items.append(format_html('<rect class="{}" x="{}" y="{}" width="10" height="10"/>'
                                 '<text class="legend" x="{}" y="{}">{}</text>',
                                 css, x, TOP, x + 14, TOP + 9, text))
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg"><title>{}</title><desc>{}</desc>{}{}</svg>',
        width, height, title, title, desc, mark_safe("".join(parts)),
        mark_safe("".join(items)))


def empty_chart(title: str, message: str) -> SafeString:
    return _svg(title, message, [format_html(
        '<text class="empty-text" x="{}" y="{}" text-anchor="middle">{}</text>',
        WIDTH / 2, HEIGHT / 2, message)])


def histogram(*, title: str, series: Sequence[tuple[str, str, Sequence[float]]],
              marker: float | None = None, marker_text: str = "",
              y_label: str = "share of the group, %") -> SafeString:
    """Side-by-side bars per bin of [0, 1]: series (css class, legend, values per bin)."""
    bins = len(series[0][2]) if series else 0
    peak = max((v for _, _, values in series for v in values), default=0)
    if not bins or peak <= 0:
        return empty_chart(title, "No decided comments in this window.")
    frame = Frame(0, 1, 0, nice_max(peak))
    width = (frame.x(1) - frame.x(0)) / bins
    bar = width * 0.9 / len(series)
    parts = _axes(frame, x_ticks=[(t / 10, f"{t / 10:g}") for t in range(0, 11, 2)],
                  y_label=y_label, x_label="score")
    for s, (css, name, values) in enumerate(series):
        for i, value in enumerate(values):
            if value <= 0:
                continue
            x = frame.x(i / bins) + width * 0.05 + s * bar
            parts.append(format_html(
                '<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{}: {}, '
                'score {} to {}</title></rect>', css, round(x, 2), frame.y(value), round(bar, 2),
                round(frame.y(0) - frame.y(value), 2), name, _fmt(round(value, 1)),
                f"{i / bins:.2f}", f"{(i + 1) / bins:.2f}"))
    if marker is not None:
        parts.append(_vline(frame, marker, marker_text))
    return _svg(title, f"{title}: score histogram", parts,
                legend=[(css, name) for css, name, _ in series], frame=frame)


def _vline(frame: Frame, value: float, text: str) -> SafeString:
    x = frame.x(value)
    return format_html('<line class="marker" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                       '<text class="marker-text" x="{}" y="{}">{}</text>',
                       x, TOP, x, frame.y(frame.y_min), x + 4, TOP + 24, text)


def reliability(*, title: str, curve: Sequence[tuple[float, float]],
                points: Sequence[tuple[float, float, int]],
                marker: float | None = None) -> SafeString:
    """The calibration curve (score -> calibrated), observed rates per bin, and the diagonal."""
    if not points:
        return empty_chart(title, "No decided comments in this window.")
    frame = Frame(0, 1, 0, 1, height=HEIGHT + 20)
    parts = _axes(frame, x_ticks=[(t / 10, f"{t / 10:g}") for t in range(0, 11, 2)],
                  y_label="moderators acted, share", x_label="score")
    parts.append(format_html('<line class="diagonal" x1="{}" y1="{}" x2="{}" y2="{}"/>',
                             frame.x(0), frame.y(0), frame.x(1), frame.y(1)))
    if curve:
        path = " ".join(f"{frame.x(x)},{frame.y(y)}" for x, y in curve)
        parts.append(format_html('<polyline class="line line-a" points="{}"/>', path))
    biggest = max(n for _, _, n in points)
    for mean, rate, n in points:
        radius = 3 + 6 * (n / biggest) ** 0.5
        parts.append(format_html(
            '<circle class="dot" cx="{}" cy="{}" r="{}"><title>score {}, acted on {} '
            '({} comments)</title></circle>', frame.x(mean), frame.y(rate), round(radius, 1),
            f"{mean:.2f}", f"{rate:.2f}", n))
    if marker is not None:
        parts.append(_vline(frame, marker, "threshold"))
    legend = [("line-a-key", "calibration"), ("dot-key", "observed, per score bin")] if curve \
        else [("dot-key", "observed, per score bin")]
    return _svg(title, f"{title}: reliability diagram", parts, legend=legend, frame=frame)


def stacked_bars(*, title: str, labels: Sequence[str],
                 series: Sequence[tuple[str, str, Sequence[float]]],
                 y_label: str = "") -> SafeString:
    """One bar per label (a day), stacked by series (css class, legend, values)."""
    if not labels:
        return empty_chart(title, "Nothing in this window.")
    totals = [sum(values[i] for _, _, values in series) for i in range(len(labels))]
    if max(totals, default=0) <= 0:
        return empty_chart(title, "Nothing in this window.")
    frame = Frame(0, len(labels), 0, nice_max(max(totals)))
    width = (frame.x(1) - frame.x(0)) * 0.8
    parts = _axes(frame, x_ticks=_day_ticks(labels), y_label=y_label)
    for i, label in enumerate(labels):
        base = 0.0
        for css, name, values in series:
            value = values[i]
            if value <= 0:
                continue
            parts.append(format_html(
                '<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{} {}: {}</title>'
                '</rect>', css, round(frame.x(i) + width * 0.1, 2), frame.y(base + value),
                round(width, 2), round(frame.y(base) - frame.y(base + value), 2), label, name,
                _fmt(value)))
            base += value
    return _svg(title, title, parts, legend=[(css, name) for css, name, _ in series],
                frame=frame)


def lines(*, title: str, labels: Sequence[str],
          series: Sequence[tuple[str, str, Sequence[float | None]]],
          y_label: str = "") -> SafeString:
    """One line per series over the labels (days); None leaves a gap."""
    values = [v for _, _, vs in series for v in vs if v is not None]
    if not labels or not values:
        return empty_chart(title, "Nothing in this window.")
    frame = Frame(0, max(len(labels) - 1, 1), 0, nice_max(max(values)))
    parts = _axes(frame, x_ticks=_day_ticks(labels, centred=False), y_label=y_label)
    for css, name, vs in series:
        run: list[str] = []
        runs = []
        for i, v in enumerate(vs):
            if v is None:
                if run:
                    runs.append(run)
                run = []
            else:
                run.append(f"{frame.x(i)},{frame.y(v)}")
        if run:
            runs.append(run)
        for points in runs:
            if len(points) == 1:
                x, y = points[0].split(",")
                parts.append(format_html('<circle class="{}" cx="{}" cy="{}" r="3"/>',
                                         css.replace("line", "dot"), x, y))
            else:
                parts.append(format_html('<polyline class="line {}" points="{}"><title>{}'
                                         '</title></polyline>', css, " ".join(points), name))
    return _svg(title, title, parts, legend=[(f"{css}-key", name) for css, name, _ in series],
                frame=frame)


def _day_ticks(labels: Sequence[str], centred: bool = True) -> list[tuple[float, str]]:
    step = max(1, len(labels) // 6)
    offset = 0.5 if centred else 0.0
    return [(i + offset, labels[i][5:]) for i in range(0, len(labels), step)]

