"""Why this score: the words that raised a label's score most, found by occlusion.

`text_explain(text)` scores the text once as it is and once with each word
(or, in a long text, each run of a few adjacent words) removed, all in ONE
call to the scorer, so the cost is bounded: at most `max_spans` + 1 texts,
whatever the comment's length. A span's `effect` is how much the label's
score drops when that span is removed (negative: the text scores higher
without it). Character offsets index the text as given, so a template can
highlight the spans in the escaped body (`explanation_html`).

Results are cached per (model key, content hash, label) in
`moderation.ScoreExplanation`: the dashboard's "why", the thread view and
the Perspective-compatible endpoint's span scores read the same rows, and a
model or a text that changed is a new key. The cache is best effort: a
database that cannot be written (or `cache=False`) still gets the answer.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from django.db import DatabaseError, transaction

from threads.importers.base import content_hash as text_hash

from .base import Scorer

logger = logging.getLogger(__name__)

# Spans scored at most per explanation: one batch of this many texts plus the
# full text. A text with more words is cut into runs of adjacent words.
DEFAULT_MAX_SPANS = 32
# Hard ceiling on `max_spans` (a caller cannot ask for an unbounded batch).
MAX_SPANS_LIMIT = 128
# Only the start of a long text is explained: detoxify reads at most 512
# tokens (about 2,000 characters of English), so words past this change
# nothing, and occluding them would only cost time.
EXPLAIN_CHARS = 4000
# Bump when the algorithm changes, so old cache rows are not reused.
ALGORITHM = "occlusion-v1"

# A word: letters/digits with inner apostrophes or hyphens ("don't", "e-mail"),
# or a run of other non-space characters (emoji, "!!!", "$#@!").
_WORD = re.compile(r"\w+(?:['’\-]\w+)*|[^\w\s]+")


@dataclass(frozen=True)
class Span:
    start: int  # character offsets into the text: text[start:end] == word
    end: int
    word: str
    effect: float  # the label's score drop when this span is removed


@dataclass(frozen=True)
class Explanation:
    model_key: str
    label: str  # the label explained (the text's top label unless one was asked for)
    score: float  # that label's score on the whole text
    spans: tuple[Span, ...] = field(default_factory=tuple)  # in text order
    words_per_span: int = 1  # >1: the text was long, spans are runs of words
    truncated: bool = False  # the text was longer than EXPLAIN_CHARS: only its start is explained
    cached: bool = False

    def top(self, n: int = 5, *, min_effect: float = 0.02, relative: float = 0.1) -> list[Span]:
        """The spans that raised the score most, largest effect first.

        Only spans worth pointing at: an effect of at least `min_effect` and at
        least `relative` times the largest one (a word worth 1 point beside one
        worth 60 is noise).
        """
        largest = max((span.effect for span in self.spans), default=0.0)
        floor = max(min_effect, relative * largest)
        raising = [span for span in self.spans if span.effect >= floor]
        return sorted(raising, key=lambda span: (-span.effect, span.start))[:n]

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["spans"] = [asdict(span) for span in self.spans]
        return data


def text_words(text: str) -> list[tuple[int, int]]:
    """(start, end) of each word of `text` (see _WORD), in order."""
    return [match.span() for match in _WORD.finditer(text)]


def _spans_of(text: str, max_spans: int) -> tuple[list[tuple[int, int]], int, bool]:
    truncated = len(text) > EXPLAIN_CHARS
    words = text_words(text[:EXPLAIN_CHARS])
    per_span = max(1, math.ceil(len(words) / max_spans))
    spans = [
        (words[i][0], words[min(i + per_span, len(words)) - 1][1])
        for i in range(0, len(words), per_span)
    ]
    return spans, per_span, truncated


def _without(text: str, start: int, end: int) -> str:
    """The text with text[start:end] removed and the gap closed to one space."""
    before, after = text[:start].rstrip(), text[end:].lstrip()
    return f"{before} {after}" if before and after else before + after


def text_explain(
    text: str,
    *,
    scorer: Scorer | None = None,
    label: str | None = None,
    max_spans: int = DEFAULT_MAX_SPANS,
    cache: bool = True,
) -> Explanation:
    """Explain the score of `label` (default: the text's top label) on `text`.

    One scorer call of at most `max_spans` + 1 texts; cached per (model key,
    content hash, label). `max_spans` is clamped to 1..MAX_SPANS_LIMIT.
    """
    from .registry import active_scorer

    scorer = scorer or active_scorer()
    max_spans = min(max(int(max_spans), 1), MAX_SPANS_LIMIT)
    if label is not None and label not in scorer.labels:
        raise ValueError(f"{scorer.key} has no label {label!r}; its labels: "
                         f"{', '.join(scorer.labels)}")
    content_hash = text_hash(text)  # Comment.content_hash's rule
    if cache:
        found = _cache_get(scorer.key, content_hash, label or "", max_spans)
        if found is not None:
            return found

    spans, per_span, truncated = _spans_of(text, max_spans)
    results = scorer.score([text, *(_without(text, s, e) for s, e in spans)])
    full = results[0]
    chosen = label or (max(full, key=full.__getitem__) if full else "")
    base = float(full.get(chosen, 0.0))
    explanation = Explanation(
        model_key=scorer.key,
        label=chosen,
        score=base,
        spans=tuple(
            Span(start=s, end=e, word=text[s:e], effect=round(base - float(r.get(chosen, 0.0)), 4))
            for (s, e), r in zip(spans, results[1:], strict=True)
        ),
        words_per_span=per_span,
        truncated=truncated,
    )
    if cache:
        _cache_put(explanation, content_hash, label or "", max_spans)
    return explanation


def texts_explain_cached(*, model_key: str, content_hashes: Sequence[str],
                         label: str = "") -> dict[str, Explanation]:
    """The cached explanations of these texts by this model (one query), by content hash."""
    from moderation.models import ScoreExplanation

    rows = ScoreExplanation.objects.filter(
        model_key=model_key, content_hash__in=list(content_hashes), label=label,
        algorithm=ALGORITHM,
    )
    return {row.content_hash: _from_row(row) for row in rows}


def _from_row(row) -> Explanation:  # noqa: ANN001 (a ScoreExplanation)
    data = row.data
    return Explanation(
        model_key=row.model_key,
        label=data["label"],
        score=data["score"],
        spans=tuple(Span(**span) for span in data["spans"]),
        words_per_span=data.get("words_per_span", 1),
        truncated=data.get("truncated", False),
        cached=True,
    )


def _cache_get(model_key: str, content_hash: str, label: str,
               max_spans: int) -> Explanation | None:
    from moderation.models import ScoreExplanation

    try:
        row = ScoreExplanation.objects.filter(
            model_key=model_key, content_hash=content_hash, label=label, algorithm=ALGORITHM,
            max_spans=max_spans,
        ).first()
    except DatabaseError:
        return None
    return _from_row(row) if row is not None else None


def _cache_put(explanation: Explanation, content_hash: str, label: str, max_spans: int) -> None:
    from moderation.models import ScoreExplanation

    data = explanation.as_dict()
    data.pop("model_key")
    data.pop("cached")
    try:
        with transaction.atomic():
            ScoreExplanation.objects.bulk_create(
                [ScoreExplanation(model_key=explanation.model_key, content_hash=content_hash,
                                  label=label, algorithm=ALGORITHM, max_spans=max_spans,
                                  data=data)],
                ignore_conflicts=True,  # another process explained the same text meanwhile
            )
    except DatabaseError as exc:
        logger.warning("could not cache the explanation of a text (%s); not cached", exc)
