"""Small presentation helpers for the dashboard templates (no markup is built here)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.formats import number_format

from moderation.queue import COUNT_CAP, TABS, review_threshold

register = template.Library()

# The reason a hide or flag defaults to, from the label that scored highest.
LABEL_REASONS = {
    "threat": "threat",
    "identity_attack": "hate",
    "identity_hate": "hate",
    "insult": "harassment",
    "severe_toxicity": "harassment",
    "toxicity": "harassment",
    "toxic": "harassment",
    "obscene": "sexual",
    "sexual_explicit": "sexual",
}


@register.filter
def score_bars(score: Any) -> list[dict[str, Any]]:
    """A ToxicityScore's labels, highest first, as (label, value, percent, over)."""
    if score is None or not isinstance(score.scores, dict):
        return []
    threshold = review_threshold()
    bars = []
    for label, value in score.scores.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        number = min(max(number, 0.0), 1.0)
        bars.append({
            "label": label.replace("_", " "),
            "value": number,
            "percent": round(number * 100),
            "over": number >= threshold,
        })
    bars.sort(key=lambda bar: -bar["value"])
    return bars


@register.filter
def is_fallback(model_key: str | None) -> bool:
    return bool(model_key) and model_key.startswith("fallback")


@register.filter
def suggested_reason(label: str | None) -> str:
    return LABEL_REASONS.get(label or "", "other")


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


@register.simple_tag
def queue_tabs() -> list[tuple[str, str]]:
    return list(TABS.items())


@register.filter
def lookup(mapping: dict | None, key: Any) -> Any:
    return (mapping or {}).get(key)
