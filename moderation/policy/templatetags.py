"""Template filters of the policy and report pages (`{% load policy %}`)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent_or_dash(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@register.filter
def recall_of(outcomes, positives: int) -> float | None:
    return outcomes.recall(positives)


# Characters shown either side of a watched word on a card.
SNIPPET_CONTEXT = 40
MAX_SNIPPETS = 8


@register.simple_tag(takes_context=True)
def watched_words(context, comment) -> str:
    """The watched words in a card's text, each in a short escaped snippet with <mark>.

    Matched with the lists as saved now (what the policy would do to this
    text today). One check of the lists per source per request: the compiled
    matcher is kept on the request, so a page of cards does not query per card.
    """
    from django.utils.html import format_html, format_html_join

    from moderation.scoring.watched import matcher_for

    request = context.get("request")
    source = comment.thread.source if comment.thread_id else ""
    cache = getattr(request, "_watched_matchers", None) if request is not None else None
    if cache is None:
        cache = {}
        if request is not None:
            request._watched_matchers = cache
    if source not in cache:
        cache[source] = matcher_for(source)
    text = getattr(comment, "body_preview", None)
    if text is None:
        text = comment.body or ""
    hits = cache[source].find(text)[:MAX_SNIPPETS]
    if not hits:
        return ""
    rows = []
    for hit in hits:
        before = text[max(hit.start - SNIPPET_CONTEXT, 0):hit.start]
        after = text[hit.end:hit.end + SNIPPET_CONTEXT]
        rows.append((hit.kind, "…" if hit.start > SNIPPET_CONTEXT else "", before,
                     text[hit.start:hit.end], after,
                     "…" if hit.end + SNIPPET_CONTEXT < len(text) else "",
                     hit.kind, hit.word, hit.list_name))
    items = format_html_join(
        "", '<li class="{}"><bdi>{}{}<mark>{}</mark>{}{}</bdi> <span class="muted">{} word '
        '“{}” ({})</span></li>', rows)
    return format_html('<div class="watched" aria-label="Watched words"><strong>Watched words'
                       '</strong><ul>{}</ul></div>', items)


@register.filter
def change_lines(change) -> list[str]:
    """What a policy change changed, one "field: before → after" line per field."""
    before, after = change.before or {}, change.after or {}
    lines = []
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        if old == new and change.before and change.after:
            continue
        if key == "words":
            old_set, new_set = set(old or []), set(new or [])
            added, removed = sorted(new_set - old_set), sorted(old_set - new_set)
            text = f"words: +{len(added)} −{len(removed)}"
            if 0 < len(added) + len(removed) <= 5:
                text += " (" + ", ".join([*(f"+{w}" for w in added),
                                          *(f"−{w}" for w in removed)]) + ")"
            lines.append(text)
        elif key == "changes":
            lines.extend(f"{what}: {n}" for what, n in (new or {}).items())
        elif change.before and change.after:
            lines.append(f"{key}: {_show(old)} → {_show(new)}")
        else:
            lines.append(f"{key}: {_show(new if change.after else old)}")
    return lines


def _show(value) -> str:
    return "—" if value is None else str(value)[:100]
