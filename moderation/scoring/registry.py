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
weights already in torch.hub's cache) and the fallback otherwise.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import Scorer, model_key_is_fallback
from .detoxify import MODEL_LANGUAGES, DetoxifyOptions, model_key_for, official_cache_path
from .fallback import LANGUAGES as FALLBACK_LANGUAGES
from .fallback import fallback_key

BACKENDS = ("auto", "detoxify", "fallback")


@dataclass(frozen=True)
class ScorerChoice:
    backend: str  # "detoxify" or "fallback"
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
    return ()


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
    return ScorerChoice(
        "fallback", fallback_key(),
        "SCORER=auto and no detoxify weights are present (no DETOXIFY_CHECKPOINT, no "
        "installed model, no cached official checkpoint)",
    )


def build_scorer(choice: ScorerChoice) -> Scorer:
    if choice.backend == "fallback":
        from .fallback import FallbackScorer

        return FallbackScorer()
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


def reset_active_scorer() -> None:
    """Forget the built scorer (tests, and after install_model in-process)."""
    global _active
    with _lock:
        _active = None
