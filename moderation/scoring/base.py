"""The Scorer protocol every backend implements, and how a model key reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class Scorer(Protocol):
    """Scores texts; one dict label -> probability per text, in input order.

    `key` names the exact model (backend, model type, weights checksum): every
    stored score carries it, so a new model is a new key and is re-scored.
    """

    key: str
    labels: tuple[str, ...]
    # ISO 639-1 codes of the languages the model reads; a comment confidently
    # detected in another language is sent to review instead of trusted
    # (moderation/scoring/language.py). Empty: reads any language.
    languages: tuple[str, ...]

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]: ...


FALLBACK_PREFIX = "fallback:"


def scorer_languages(scorer: object) -> tuple[str, ...]:
    """The languages a scorer declares it reads; () for "any" (or undeclared)."""
    return tuple(getattr(scorer, "languages", None) or ())


def model_key_is_fallback(model_key: str | None) -> bool:
    """The one test of "these scores come from the fallback, not a real model"."""
    return bool(model_key) and model_key.startswith(FALLBACK_PREFIX)


def describe_model_key(model_key: str) -> str:
    """A human label for a stored model key, for the dashboard and admin.

    Fallback scores are named as such wherever they are shown: they come from
    a profanity classifier, not from detoxify, and read differently.
    """
    if not model_key:
        return "not scored"
    parts = model_key.split(":")
    if model_key_is_fallback(model_key):
        name = parts[1] if len(parts) > 1 else "fallback"
        version = f" {parts[2]}" if len(parts) > 2 else ""
        return f"fallback scorer ({name}{version}), not detoxify"
    if parts[0] == "detoxify" and len(parts) >= 3:
        return f"detoxify {parts[1]} (weights {parts[2]})"
    return model_key
