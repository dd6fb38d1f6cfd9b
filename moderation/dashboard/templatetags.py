"""Small presentation helpers for the dashboard templates (no markup is built here)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from django import template
from django.conf import settings
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe

from moderation.models import ReasonCode
from moderation.scoring.base import model_key_is_fallback
from moderation.scoring.explain import EXPLAIN_CHARS
from moderation.scoring.labels import label_get, label_table, reason_suggested, score_is_over
from moderation.scoring.language import language_name as _language_name
from moderation.scoring.language import score_language_note
from threads.links import is_http_url

from .queue import COUNT_CAP, TABS

register = template.Library()


@register.filter
def score_bars(score: Any) -> list[dict[str, Any]]:
    """A ToxicityScore's labels, highest first, as (label, value, percent, over)."""
    if score is None or not isinstance(score.scores, dict):
        return []
    table = label_table(getattr(score, "model_key", None) or None)
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


@register.simple_tag
def last_resort_model() -> Any:
    """The active ScorerChoice when it is the last-resort fallback, else None (banner)."""
    from django.core.exceptions import ImproperlyConfigured

    from moderation.scoring.registry import active_choice

    try:
        choice = active_choice()
    except ImproperlyConfigured:  # the system check reports it
        return None
    return choice if choice.is_fallback else None


@register.filter
def suggested_reason(label: str | None) -> str:
    """The reason a hide or flag defaults to: the top label's, from the label table."""
    return label_get(label).default_reason


@register.filter
def card_reason(comment: Any) -> str:
    """The reason a card or node preselects (labels.reason_suggested)."""
    return reason_suggested(comment.toxicity_label, comment.toxicity)


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
def report_reasons(reasons: dict | None) -> list[tuple[str, int]]:
    """A report summary's reasons as (display name, count), most reported first."""
    names = dict(ReasonCode.choices)
    if not isinstance(reasons, dict):
        return []
    pairs = [(names.get(key, str(key)), count) for key, count in reasons.items()
             if isinstance(count, int)]
    return sorted(pairs, key=lambda pair: -pair[1])

# --- languages and "why this score" (issue 12 parts 4 and 5) ----------------------


@register.filter
def language_name(code: str | None) -> str:
    """ "tr" -> "Turkish"; "" -> "undetermined"."""
    return _language_name(code)


@register.filter
def language_unsupported(comment: Any, score: Any) -> str:
    """The "language not supported by <model>" note when `score`'s model cannot read
    the comment (its scores are then not applicable), else ""."""
    if score is None:
        return ""
    return score_language_note(getattr(comment, "language", None), score.model_key)


@register.filter
def why_url(pk: Any) -> str:
    return _fill("moderation:comment_why", pk)


# Highlight strengths the stylesheet has classes for (why-1 ... why-4).
WHY_STEPS = (0.05, 0.15, 0.3)


def _why_step(effect: float) -> int:
    return 1 + sum(effect >= step for step in WHY_STEPS)


@register.simple_tag
def why_body(text: str | None, explanation: Any, limit: int = 5) -> str:
    """The comment's text, escaped, with the spans that raised the score most marked.

    Every piece of the text goes through conditional_escape (format_html);
    only the <mark> tags around them are ours. The spans' offsets index the
    text the explanation was made for: a span that does not fit is dropped.
    """
    text = (text or "")[:EXPLAIN_CHARS]
    marks = []
    for span in explanation.top(limit) if explanation is not None else []:
        if 0 <= span.start < span.end <= len(text) and text[span.start : span.end] == span.word:
            marks.append(span)
    marks.sort(key=lambda span: span.start)
    pieces, at = [], 0
    for span in marks:
        if span.start < at:
            continue  # overlapping runs: the first one wins
        pieces.append(conditional_escape(text[at : span.start]))
        pieces.append(format_html(
            '<mark class="why why-{}" title="{}">{}</mark>',
            _why_step(span.effect), f"{points(span.effect)} when removed",
            text[span.start : span.end],
        ))
        at = span.end
    pieces.append(conditional_escape(text[at:]))
    return linebreaksbr(mark_safe("".join(pieces)), autoescape=False)  # noqa: S308 (escaped above)


@register.filter
def why_step(effect: float) -> int:
    return _why_step(effect)


@register.filter
def points(effect: float) -> str:
    """A score change in percentage points: 0.42 -> "−42 points"."""
    value = round(float(effect) * 100)
    return f"{'−' if value > 0 else '+'}{abs(value)} points"


@register.filter
def label_name(name: str | None) -> str:
    return label_get(name).display_name

# --- The moderator's shift (issue 13): one date format, undo, reasons -------------------

# One format for every date on the dashboard, with its zone: the moderator's
# (ModeratorTimeZoneMiddleware activates it); "T" is the zone's abbreviation.
WHEN_FORMAT = "j M Y, H:i T"


@register.filter
def when(value: Any) -> str:
    """A date in the one dashboard format, in the moderator's zone: "1 Dec 2026, 14:02 CET"."""
    if not value:
        return ""
    from django.utils import timezone
    from django.utils.dateformat import format as date_format

    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return date_format(value, WHEN_FORMAT)


@register.simple_tag(takes_context=True)
def pending_undo(context: Any) -> str | None:
    """The undo bar's label on a full page: what the session can still undo."""
    from .undo import undo_offer

    request = context.get("request")
    return undo_offer(request.session) if request is not None else None


@register.simple_tag
def reason_keys() -> list[tuple[int, str, str]]:
    """(number key, value, label) of each reason: 1-9, then 0 for the tenth."""
    return [((index + 1) % 10, value, label)
            for index, (value, label) in enumerate(ReasonCode.choices[:10])]


@register.filter
def preview_line(comment: Any) -> str:
    """The compact list's one line: the body's start, whitespace folded."""
    return excerpt(preview(comment).text, 140)


@register.simple_tag(takes_context=True)
def moderator_density(context: Any) -> str:
    """"cards" or "compact": the signed-in moderator's queue density (remembered per moderator)."""
    from .preferences import session_preferences

    request = context.get("request")
    return session_preferences(request).density if request is not None else "cards"


@register.filter
def query_string(params: dict | None) -> str:
    """A dict of URL parameters (QueueFilters.as_query) as an encoded query string."""
    from urllib.parse import urlencode

    return urlencode(params or {})
