"""The fallback backend: alt-profanity-check, offline and fast.

It ships its trained model inside the package (a linear SVM over character and
word n-grams, calibrated), so it needs no download. It detects profanity, not
toxicity in detoxify's sense: its one score is mapped onto the `toxicity`
label, and every score it makes carries a `fallback:` model key so the
dashboard can say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version

from .base import FALLBACK_PREFIX

LABEL = "toxicity"
LANGUAGES = ("en",)


def fallback_key() -> str:
    return f"{FALLBACK_PREFIX}alt-profanity-check:{version('alt-profanity-check')}"


class FallbackScorer:
    labels: tuple[str, ...] = (LABEL,)
    # Trained on English profanity: it scores other languages' words as noise.
    languages: tuple[str, ...] = LANGUAGES

    def __init__(self) -> None:
        from profanity_check import predict_prob

        self._predict_prob = predict_prob
        self.key = fallback_key()

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        probabilities = self._predict_prob([text or "" for text in texts])
        return [{LABEL: float(p)} for p in probabilities]
