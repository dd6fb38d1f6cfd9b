"""Small presentation helpers for the dashboard templates (no markup is built here)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from moderation.models import ReasonCode
from moderation.scoring.base import model_key_is_fallback
from moderation.scoring.labels import label_get, label_table, score_is_over
from threads.links import is_http_url

from .queue import COUNT_CAP, TABS

register = template.Library()


@register.filter
def score_bars(score: Any) -> list[dict[str, Any]]:
    """A ToxicityScore's labels, highest first, as (label, value, percent, over)."""
    if score is None or not isinstance(score.scores, dict):
        return []
    table = label_table()
    bars = []
    for label, value in score.scores.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        number = min(max(number, 0.0), 1.0)
        percent = round(number * 100)
        row = label_get(label, table)
        bars.append({
            "label": row.display_name,
            "value": number,
            "percent": percent,
            # The fill's width is a class (w-0, w-5, ... w-100 in dashboard.css),
            # not a style attribute: the Content-Security-Policy allows no inline
            # styles. The exact figure is in the bar's label and value.
            "step": BAR_STEP * round(percent / BAR_STEP),
            "over": number >= row.review_threshold,
        })
    bars.sort(key=lambda bar: -bar["value"])
    return bars


BAR_STEP = 5


@register.filter
def is_fallback(model_key: str | None) -> bool:
    return model_key_is_fallback(model_key)


@register.filter
def suggested_reason(label: str | None) -> str:
    """The reason a hide or flag defaults to: the top label's, from the label table."""
    return label_get(label).default_reason


@register.filter
def over_threshold(comment: Any) -> bool:
    """Whether a comment's top score reaches its label's review threshold."""
    return score_is_over(comment.toxicity_label, comment.toxicity)


@register.filter
def capped(count: int) -> str:
    """A tab count: exact up to the cap, then "10,000+"."""
    if count > COUNT_CAP:
        return number_format(COUNT_CAP, force_grouping=True) + "+"
    return number_format(count, force_grouping=True)


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


@register.filter
def excerpt(text: str | None, limit: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- user text: links, previews, bidi isolation -------------------------------


@register.filter
def safe_http_url(value: Any) -> str:
    """The URL if it is an absolute http(s) URL (threads.links), else "".

    Every stored URL that becomes an href goes through this: rows imported
    before the importers checked schemes may hold javascript:, data: or
    vbscript: URLs, which would run in the moderator's session when clicked.
    Any whitespace or control character is refused too, since browsers drop
    them while parsing ("java\tscript:").
    """
    return value if is_http_url(value) else ""


@dataclass(frozen=True)
class Preview:
    text: str
    cut: bool


@register.filter
def preview(comment: Any) -> Preview:
    """A comment's body cut to COMMENT_PREVIEW_CHARS, and whether it was cut.

    Reads `body_preview` (queue.with_body_preview: the database's cut, one
    character longer than shown, so "cut" is known without the whole body)
    and falls back to the body for a row read without it.
    """
    limit = settings.COMMENT_PREVIEW_CHARS
    text = getattr(comment, "body_preview", None)
    if text is None:
        text = comment.body or ""
    if len(text) > limit:
        return Preview(text[:limit], True)
    return Preview(text, False)


@register.filter(is_safe=True)
def isolate(value: Any) -> str:
    """Text wrapped in FIRST STRONG ISOLATE ... POP DIRECTIONAL ISOLATE.

    For user text where no <bdi> can go (<title>, <option>): a right-to-left
    override in it then cannot reorder what follows.
    """
    return f"\u2068{value}\u2069"


# Indentation steps the stylesheet has rules for ([data-indent="0"] ... "12").
MAX_INDENT = 12


@register.filter
def indent(depth: Any) -> int:
    """A node's or a context item's data-indent (no style attribute: CSP)."""
    try:
        level = int(depth)
    except (TypeError, ValueError):
        level = 0
    return max(0, min(level, MAX_INDENT))


@register.simple_tag
def queue_tabs() -> list[tuple[str, str]]:
    return list(TABS.items())


@register.filter
def lookup(mapping: dict | None, key: Any) -> Any:
    return (mapping or {}).get(key)


# Links and the reason picker are rendered on every card and thread node: a
# `{% url %}` costs a full reverse() each time, so each URL shape is reversed
# once and filled in by string replacement (the ids are integers).
_SENTINEL = 987654321


@cache
def _url_shape(name: str) -> tuple[str, str]:
    prefix, _, suffix = reverse(name, args=[_SENTINEL]).partition(str(_SENTINEL))
    return prefix, suffix


def _fill(name: str, pk: Any) -> str:
    prefix, suffix = _url_shape(name)
    return f"{prefix}{int(pk)}{suffix}"


@register.filter
def author_url(pk: Any) -> str:
    return _fill("moderation:author", pk)


@register.filter
def thread_url(pk: Any) -> str:
    return _fill("moderation:thread", pk)


@register.filter
def history_url(pk: Any) -> str:
    return _fill("moderation:comment_history", pk)


@register.filter
def context_url(pk: Any) -> str:
    return _fill("moderation:comment_context", pk)


@register.filter
def body_url(pk: Any) -> str:
    return _fill("moderation:comment_body", pk)


@cache
def _reason_options(selected: str) -> str:
    return format_html_join(
        "", '<option value="{}"{}>{}</option>',
        ((value, mark_safe(" selected") if value == selected else "", label)
         for value, label in ReasonCode.choices),
    )


@register.simple_tag
def reason_options(selected: str = "other") -> str:
    """The reason <option>s with one preselected (escaped once, then reused)."""
    return _reason_options(selected)


@register.simple_tag
def act_url() -> str:
    return _act_url()


@cache
def _act_url() -> str:
    return reverse("moderation:act")


@register.filter
def thousands(value: int | None) -> str:
    """12345 -> "12,345": job sizes are read at a glance."""
    return f"{value or 0:,}"


@register.filter
def query_string(params: dict | None) -> str:
    """A dict of URL parameters (QueueFilters.as_query) as an encoded query string."""
    from urllib.parse import urlencode

    return urlencode(params or {})
