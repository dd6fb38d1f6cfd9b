"""What scores the comments, and why: one read for `model_status`, /models/ and `make demo`.

`model_status()` describes the active model without loading it (no torch: the
web process calls it): its key and name, the one sentence saying why it was
chosen (`choice_reason`), its labels and languages, the precision it runs at
and why, the files of an installed model (and, for an official one, the
release's full sha256), the last failed official download, and how to
install each official model. `model_status_line()` is the same in one line.

Labels and languages come from the scorer's class (`labels`, `languages`
attributes, where a backend has them) or, for detoxify, from the model's
config.json and the release table; a backend added later slots in by giving
its class those attributes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import describe_model_key
from .detoxify import MODEL_TYPES
from .official import OFFICIAL_RELEASES, last_failed_download, read_manifest
from .precision import precision_choice
from .registry import ScorerChoice, scorer_choice

INSTALL_COMMAND = "python manage.py install_model --official {model_type}"


@dataclass(frozen=True)
class OfficialOption:
    model_type: str
    command: str
    summary: str
    languages: tuple[str, ...]
    installed: bool


@dataclass(frozen=True)
class ModelStatus:
    key: str
    name: str
    backend: str
    reason: str
    is_fallback: bool
    labels: tuple[str, ...] | None = None  # None: known once the model loads
    languages: tuple[str, ...] | None = None
    precision: str | None = None  # detoxify only
    precision_reason: str = ""
    checkpoint: str = ""
    hf_config: str = ""
    manifest: dict | None = None  # an official download's (official.py)
    last_failed_download: dict | None = None
    error: str = ""  # the scoring settings are wrong: nothing scores until fixed
    official: list[OfficialOption] = field(default_factory=list)

    def as_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


def _scorer_class(backend: str) -> type | None:
    if backend == "fallback":
        from .fallback import FallbackScorer

        return FallbackScorer
    if backend == "embedded":
        from .embedded import EmbeddedScorer

        return EmbeddedScorer
    if backend == "detoxify":
        from .detoxify import DetoxifyScorer

        return DetoxifyScorer
    return None


def _config_labels(hf_config: str) -> tuple[str, ...] | None:
    try:
        config = json.loads((Path(hf_config) / "config.json").read_text(encoding="utf-8"))
        id2label = config["id2label"]
        return tuple(id2label[key] for key in sorted(id2label, key=int))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def choice_reason(choice: ScorerChoice) -> str:
    """Why this model scores, in one sentence: the registry's reason and its context."""
    reason = choice.reason
    options = choice.detoxify
    if reason == "installed model" and options is not None:
        manifest = read_manifest(options.checkpoint)
        if manifest is not None:
            reason = (f"installed with install_model --official {manifest.get('model_type')}: "
                      "detoxify's published checkpoint, verified against its release hash")
        else:
            reason = "installed with install_model --checkpoint (a local checkpoint)"
    elif reason == "DETOXIFY_CHECKPOINT":
        reason = "DETOXIFY_CHECKPOINT names this checkpoint (it overrides any installed model)"
    elif reason == "SCORER=fallback":
        reason = "SCORER=fallback is set"
    if choice.is_fallback and settings.SCORER != "fallback":
        failed = last_failed_download()
        if failed is not None:
            reason += (f"; the official {failed.get('model_type')} download failed at "
                       f"{failed.get('at')}: {failed.get('error')}")
        command = INSTALL_COMMAND.format(model_type="original")
        reason += f"; install the official model with: {command}"
    return reason


def model_status() -> ModelStatus:
    try:
        choice = scorer_choice()
    except ImproperlyConfigured as exc:
        return ModelStatus(key="", name="nothing (the scoring settings are wrong)", backend="",
                           reason=str(exc), is_fallback=False, error=str(exc),
                           official=_official_options(None))
    scorer_class = _scorer_class(choice.backend)
    labels = getattr(scorer_class, "labels", None)
    languages = getattr(scorer_class, "languages", None)
    extra: dict = {}
    if choice.detoxify is not None:
        options = choice.detoxify
        labels = _config_labels(options.hf_config) if options.hf_config else None
        if not isinstance(languages, tuple):
            languages = OFFICIAL_RELEASES[options.model_type].languages
        precision, why = precision_choice(options.precision, model_type=options.model_type,
                                          device=options.device)
        extra = {"precision": precision, "precision_reason": why,
                 "checkpoint": options.checkpoint, "hf_config": options.hf_config,
                 "manifest": read_manifest(options.checkpoint) if options.checkpoint else None}
    elif not isinstance(labels, tuple):
        labels = None
    if choice.is_fallback and not isinstance(languages, tuple):
        languages = ("en",)
    return ModelStatus(
        key=choice.key, name=describe_model_key(choice.key), backend=choice.backend,
        reason=choice_reason(choice), is_fallback=choice.is_fallback,
        labels=tuple(labels) if labels else None,
        languages=tuple(languages) if isinstance(languages, tuple) else None,
        last_failed_download=last_failed_download(), official=_official_options(choice),
        **extra,
    )


def _official_options(choice: ScorerChoice | None) -> list[OfficialOption]:
    manifest = None
    if choice is not None and choice.detoxify is not None and choice.detoxify.checkpoint:
        manifest = read_manifest(choice.detoxify.checkpoint)
    installed = manifest.get("model_type") if manifest else None
    return [OfficialOption(model_type, INSTALL_COMMAND.format(model_type=model_type),
                           OFFICIAL_RELEASES[model_type].summary,
                           OFFICIAL_RELEASES[model_type].languages, model_type == installed)
            for model_type in MODEL_TYPES]


def model_status_line(status: ModelStatus | None = None) -> str:
    """One line: which model scores and why (make demo prints it)."""
    status = status or model_status()
    if status.error:
        return f"Scoring nothing: {status.error}"
    details = [status.key]
    if status.precision:
        details.append(status.precision)
    if status.languages:
        details.append("languages " + " ".join(status.languages))
    return f"Scoring with {status.name} ({'; '.join(details)}) because {status.reason}"
