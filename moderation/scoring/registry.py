"""Which scorer is active, decided from settings without loading it.

`scorer_choice()` resolves the backend and its model key from settings and the
installed model (no torch: the sweep, the system check and the Celery parent
may call it). `active_scorer()` builds the scorer once per process, on first
use: in a Celery worker that is the child process, never the prefork parent.

Building a detoxify scorer re-hashes an installed checkpoint against the
sha256 install_model recorded and refuses a changed file
(`CheckpointRefusedError`, an ImproperlyConfigured): nothing is scored, so the
comments stay unscored for the sweep once the file is put right.

SCORER=auto (the default) uses detoxify when its weights are present (a
configured checkpoint, the model `install_model` made active, or the official
weights already in torch.hub's cache), else the embedded model that ships in
the repository (tox-block in PyTorch, embedded.py), and the fallback
(alt-profanity-check) only as a last resort: when the embedded model's files
are missing or changed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import Scorer, model_key_is_fallback
from .detoxify import MODEL_LANGUAGES, DetoxifyOptions, model_key_for, official_cache_path
from .embedded import EmbeddedModelError, embedded_key
from .fallback import LANGUAGES as FALLBACK_LANGUAGES
from .fallback import fallback_key

BACKENDS = ("auto", "detoxify", "embedded", "fallback")


@dataclass(frozen=True)
class ScorerChoice:
    backend: str  # "detoxify", "embedded" or "fallback"
    key: str
    reason: str
    detoxify: DetoxifyOptions | None = None

    @property
    def is_fallback(self) -> bool:
        return model_key_is_fallback(self.key)

    @property
    def languages(self) -> tuple[str, ...]:
        return languages_for_model_key(self.key)


def languages_for_model_key(model_key: str) -> tuple[str, ...]:
    """The languages the model behind a (stored) key reads, without building it.

    The same tuples the scorers declare as `languages`; () when the key names
    no known backend (read as "any language": nothing is marked unsupported).
    """
    if model_key_is_fallback(model_key):
        return FALLBACK_LANGUAGES
    backend, _, rest = (model_key or "").partition(":")
    if backend == "detoxify":
        return MODEL_LANGUAGES.get(rest.split(":", 1)[0], ())
    return BACKEND_LANGUAGES.get(backend, ())


# Backends whose every model reads the same languages, by the model key's first
# part. "embedded": the embedded tox-block port (English only, as its scorer declares).
BACKEND_LANGUAGES: dict[str, tuple[str, ...]] = {"embedded": ("en",)}


def _settings_options() -> DetoxifyOptions:
    try:
        return DetoxifyOptions(
            model_type=settings.DETOXIFY_MODEL_TYPE,
            checkpoint=settings.DETOXIFY_CHECKPOINT,
            hf_config=settings.DETOXIFY_HF_CONFIG,
            device=settings.SCORING_DEVICE,
            batch_size=settings.SCORING_BATCH_SIZE,
            precision=settings.SCORING_PRECISION,
            threads=settings.SCORING_TORCH_THREADS,
        )
    except ValueError as exc:
        raise ImproperlyConfigured(f"scoring settings: {exc}") from None


def _installed_options(base: DetoxifyOptions) -> DetoxifyOptions | None:
    from django.db import DatabaseError

    from moderation.models import ActiveModel

    try:
        row = ActiveModel.objects.filter(pk=1).first()
    except DatabaseError:  # not migrated yet
        return None
    if row is None:
        return None
    return replace(base, model_type=row.model_type, checkpoint=row.checkpoint,
                   hf_config=row.hf_config, checksum=row.checksum)


def scorer_choice() -> ScorerChoice:
    """Resolve the active backend and model key from settings (no torch)."""
    backend = settings.SCORER
    if backend not in BACKENDS:
        raise ImproperlyConfigured(f"SCORER={backend!r}; use one of {', '.join(BACKENDS)}")
    if backend == "fallback":
        return ScorerChoice("fallback", fallback_key(), "SCORER=fallback")
    if backend == "embedded":
        return ScorerChoice("embedded", embedded_key(), "SCORER=embedded")
    options = _settings_options()
    if options.checkpoint:
        if not Path(options.checkpoint).is_file():
            raise ImproperlyConfigured(
                f"DETOXIFY_CHECKPOINT={options.checkpoint!r} is not a readable file"
            )
        return ScorerChoice("detoxify", model_key_for(options), "DETOXIFY_CHECKPOINT", options)
    installed = _installed_options(options)
    if installed is not None:
        if Path(installed.checkpoint).is_file():
            return ScorerChoice("detoxify", model_key_for(installed), "installed model",
                                installed)
        if backend == "detoxify":
            raise ImproperlyConfigured(
                f"the installed checkpoint {installed.checkpoint!r} is missing on this machine"
            )
    official = official_cache_path(options.model_type)
    if backend == "detoxify" or official.is_file():
        reason = "official weights" + ("" if official.is_file() else " (download on first use)")
        return ScorerChoice("detoxify", model_key_for(options), reason, options)
    no_weights = ("SCORER=auto and no detoxify weights are present (no DETOXIFY_CHECKPOINT, "
                  "no installed model, no cached official checkpoint)")
    try:
        return ScorerChoice("embedded", embedded_key(), f"{no_weights}: the embedded model")
    except EmbeddedModelError as exc:
        return ScorerChoice("fallback", fallback_key(),
                            f"{no_weights}, and the embedded model cannot be used: {exc}")


def build_scorer(choice: ScorerChoice) -> Scorer:
    if choice.backend == "fallback":
        from .fallback import FallbackScorer

        return FallbackScorer()
    if choice.backend == "embedded":
        from .embedded import EmbeddedScorer

        # One torch thread whatever SCORING_TORCH_THREADS says: the BiLSTM's 100
        # small steps per text spend more on thread hand-offs than they gain
        # (256 texts: ~850/s on one thread, ~35/s on two; docs/benchmarks.md).
        return EmbeddedScorer(threads=1)
    from .detoxify import DetoxifyScorer

    assert choice.detoxify is not None
    return DetoxifyScorer(choice.detoxify)


_lock = threading.Lock()
_active: tuple[ScorerChoice, Scorer] | None = None


def active_scorer() -> Scorer:
    """The process's scorer, built on first use; rebuilt if the choice changed."""
    global _active
    choice = scorer_choice()
    with _lock:
        if _active is None or _active[0] != choice:
            _active = (choice, build_scorer(choice))
        return _active[1]


# The active model for reading thresholds and for the dashboard (it asks per
# card): scorer_choice() costs a query, so its answer is kept this long.
CHOICE_CACHE_SECONDS = 30.0
_choice_cache: tuple[tuple, float, ScorerChoice] | None = None


def active_choice() -> ScorerChoice:
    """scorer_choice(), re-read at most every 30 s per process.

    Settings changes are seen at once; an install_model in another process
    within CHOICE_CACHE_SECONDS (reset_active_scorer clears it in-process).
    """
    global _choice_cache
    inputs = (settings.SCORER, settings.DETOXIFY_CHECKPOINT, settings.DETOXIFY_MODEL_TYPE)
    now = time.monotonic()
    cached = _choice_cache
    if cached is not None and cached[0] == inputs and now - cached[1] < CHOICE_CACHE_SECONDS:
        return cached[2]
    choice = scorer_choice()
    _choice_cache = (inputs, now, choice)
    return choice


def active_model_key() -> str:
    """The active model's key without building the scorer (active_choice)."""
    return active_choice().key


def reset_active_scorer() -> None:
    """Forget the built scorer (tests, and after install_model in-process)."""
    global _active, _choice_cache
    with _lock:
        _active = None
        _choice_cache = None


def active_labels() -> tuple[str, ...] | None:
    """The labels the active scorer produces, without building it (no torch in a web process).

    The scorer built in this process when there is one; else the labels of the
    newest score the active model key stored (a score's labels are exactly
    what its scorer returned; one indexed row). None when that cannot be known
    yet (nothing scored by this model, or the scoring settings are wrong: the
    system check reports that): callers then offer every label.
    """
    try:
        choice = active_choice()
    except ImproperlyConfigured:
        return None
    with _lock:
        if _active is not None and _active[0] == choice:
            return tuple(_active[1].labels)
    if choice.backend == "fallback":
        from .fallback import FallbackScorer

        return FallbackScorer.labels
    if choice.backend == "embedded":
        from .embedded import LABELS

        return LABELS
    cached = _labels_by_key.get(choice.key)
    if cached is not None:
        return cached
    from moderation.models import ToxicityScore

    row = (ToxicityScore.objects.filter(model_key=choice.key).order_by("-id")
           .values_list("scores", flat=True).first())
    if not isinstance(row, dict) or not row:
        return None
    labels = tuple(row)
    _labels_by_key[choice.key] = labels
    return labels


# Model key -> its labels, once read (a model key names fixed weights).
_labels_by_key: dict[str, tuple[str, ...]] = {}
