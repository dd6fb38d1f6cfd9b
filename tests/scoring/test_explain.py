"""Why this score: occlusion spans, one bounded batch, the cache, and a known insult."""

from __future__ import annotations

import pytest

from moderation.models import ScoreExplanation
from moderation.scoring.explain import DEFAULT_MAX_SPANS, MAX_SPANS_LIMIT, text_explain
from moderation.scoring.registry import active_scorer, reset_active_scorer
from tests.helpers import MarkerScorer

INSULT = "Honestly, you are an idiot and nobody here should listen to you."


@pytest.fixture
def counting_scorer():
    return MarkerScorer(key="marker:explain:1")


def test_why_words_name_the_insult_with_the_real_active_scorer(db):
    """Holds for any scorer that flags the insult: the profanity fallback here,
    the embedded model by default once it is merged, detoxify where installed."""
    reset_active_scorer()
    scorer = active_scorer()
    (full,) = scorer.score([INSULT])
    top_label = max(full, key=full.__getitem__)
    assert full[top_label] >= 0.5, f"{scorer.key} does not flag the insult"

    why = text_explain(INSULT, scorer=scorer)
    assert why.model_key == scorer.key
    assert why.label == top_label
    assert why.score == pytest.approx(full[top_label], abs=1e-3)
    first = why.top(1)[0]
    assert first.word.lower() == "idiot"
    assert INSULT[first.start:first.end] == first.word
    assert first.effect > 0.2
    # Harmless words barely move it.
    listen = next(span for span in why.spans if span.word == "listen")
    assert listen.effect < first.effect / 4


def test_one_scorer_call_of_at_most_max_spans_plus_one_texts(counting_scorer):
    text = " ".join(f"word{i}" for i in range(200)) + " bad [insult=0.9]"
    why = text_explain(text, scorer=counting_scorer, max_spans=10, cache=False)
    assert len(counting_scorer.calls) == 1
    (batch,) = counting_scorer.calls
    assert len(batch) <= 11 and batch[0] == text
    assert len(why.spans) <= 10 and why.words_per_span > 1
    # The spans cover the words in order, and their offsets index the text.
    assert [s.start for s in why.spans] == sorted(s.start for s in why.spans)
    assert all(text[s.start:s.end] == s.word for s in why.spans)
    # The run holding the marker is the one that raised "insult".
    assert why.label == "insult"
    assert "insult=0.9" in why.top(1)[0].word


def test_max_spans_is_clamped(counting_scorer):
    text = " ".join(f"w{i}" for i in range(500))
    text_explain(text, scorer=counting_scorer, max_spans=10_000, cache=False)
    assert len(counting_scorer.calls[0]) <= MAX_SPANS_LIMIT + 1
    text_explain(text, scorer=counting_scorer, max_spans=0, cache=False)
    assert len(counting_scorer.calls[1]) == 2


def test_an_unknown_label_is_refused(counting_scorer):
    with pytest.raises(ValueError, match="no label 'nope'"):
        text_explain("text", scorer=counting_scorer, label="nope", cache=False)


def test_empty_text_has_no_spans(counting_scorer):
    why = text_explain("", scorer=counting_scorer, cache=False)
    assert why.spans == () and why.score == pytest.approx(0.01)


def test_cached_per_model_key_content_hash_and_label(db, counting_scorer):
    text = "you are awful [insult=0.8] and [threat=0.4] here"
    first = text_explain(text, scorer=counting_scorer)
    assert not first.cached and len(counting_scorer.calls) == 1
    again = text_explain(text, scorer=counting_scorer)
    assert again.cached and len(counting_scorer.calls) == 1  # the model did not run
    assert again.spans == first.spans and again.label == first.label == "insult"

    text_explain(text, scorer=counting_scorer, label="threat")  # another label: new row
    assert len(counting_scorer.calls) == 2
    other_model = MarkerScorer(key="marker:explain:2")
    text_explain(text, scorer=other_model)  # another model: new row
    assert len(other_model.calls) == 1
    text_explain(text + "!", scorer=counting_scorer)  # another text: new row
    assert len(counting_scorer.calls) == 3
    assert ScoreExplanation.objects.count() == 4


def test_default_max_spans_is_bounded():
    assert 1 <= DEFAULT_MAX_SPANS <= MAX_SPANS_LIMIT
