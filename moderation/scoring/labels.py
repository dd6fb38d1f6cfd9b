"""The one table of labels: display name, review and auto-hide thresholds, default reason.

The scoring policy, the queue's "most uncertain" pivot, the cards, the thread
view and the admin all read it; nothing else writes a threshold or maps a
label to a reason.

Thresholds follow the model: `label_table(model_key)` gives the table for the
model that made a score (the policy and the score bars pass the score's key);
without a key, the active model's. Models' scores read differently, so each
model family has its own default review thresholds; a family with no entry
in MODEL_REVIEW_DEFAULTS (detoxify, and any unknown key) gets the defaults below.

Default review thresholds (probabilities from detoxify's sigmoid outputs):

- toxicity 0.5: Jigsaw labelled a comment toxic when half its raters did, so
  0.5 is the model's own "more likely than not"; the broad label, most traffic.
- severe_toxicity 0.2: rare in the training data, and the model's scores for
  it stay low even on vile text; anything noticeable deserves a look.
- obscene 0.6: swearing without a target is common and mostly harmless in
  casual threads; a higher bar keeps the queue for hostile comments.
- threat 0.3: rare and high-harm; a missed threat costs more than a look.
- insult 0.5: as toxicity.
- identity_attack 0.3: high-harm and under-represented in training, so its
  scores run low; a lower bar catches it.
- sexual_explicit 0.5 (unbiased / multilingual models only).

The embedded model (tox-block, `embedded:` keys) has its own, measured on
the labelled Jigsaw samples (docs/scoring.md, "Thresholds per model";
figures in docs/benchmarks.md): toxicity 0.4, severe_toxicity 0.3,
threat 0.2 (high harm: it rarely scores threats high), identity_attack 0.3;
obscene 0.6 and insult 0.5 as detoxify's.

Hiding without a human is a deliberate operator choice: no label auto-hides
unless MODERATION_AUTOHIDE_THRESHOLDS names it. MODERATION_REVIEW_THRESHOLDS
overrides review thresholds per label, for every model. The fallback scorer
reports only `toxicity`.

Default reasons: obscene maps to "other", not "sexual": detoxify's obscene
label is swearing, which is rarely sexual content.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from moderation.models import ReasonCode

# The label every model reports (the fallback included): the pivot of "most
# uncertain" and the threshold used for a label the table does not know.
BROAD_LABEL = "toxicity"


@dataclass(frozen=True)
class Label:
    name: str
    display_name: str
    review_threshold: float
    default_reason: str
    autohide_threshold: float | None = None


_DEFAULTS: tuple[Label, ...] = (
    Label("toxicity", "Toxicity", 0.5, ReasonCode.HARASSMENT),
    Label("severe_toxicity", "Severe toxicity", 0.2, ReasonCode.HARASSMENT),
    Label("obscene", "Obscene", 0.6, ReasonCode.OTHER),
    Label("threat", "Threat", 0.3, ReasonCode.THREAT),
    Label("insult", "Insult", 0.5, ReasonCode.HARASSMENT),
    Label("identity_attack", "Identity attack", 0.3, ReasonCode.HATE),
    Label("sexual_explicit", "Sexually explicit", 0.5, ReasonCode.SEXUAL),
)


# Review thresholds that differ from the defaults above, per model family (the
# model key's first field). Measured, not guessed: docs/scoring.md.
MODEL_REVIEW_DEFAULTS: dict[str, dict[str, float]] = {
    "embedded": {"toxicity": 0.4, "severe_toxicity": 0.3, "threat": 0.2,
                 "identity_attack": 0.3, "obscene": 0.6, "insult": 0.5},
}


def model_family(model_key: str | None) -> str:
    """`embedded:tox-block-0.1.2:ab12` -> "embedded"; the key's first field."""
    return (model_key or "").split(":", 1)[0]


def _active_model_key() -> str:
    from .registry import active_model_key

    try:
        return active_model_key()
    except ImproperlyConfigured:  # reported by the system check; default thresholds meanwhile
        return ""


def _validated(name: str, value: object) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(f"{name} must be a JSON object of label -> number")
    known = {label.name for label in _DEFAULTS}
    result = {}
    for label, threshold in value.items():
        if label not in known:
            raise ImproperlyConfigured(
                f"{name}[{label!r}]: unknown label; use one of {', '.join(sorted(known))}"
            )
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not (
            0.0 <= threshold <= 1.0
        ):
            raise ImproperlyConfigured(
                f"{name}[{label!r}] = {threshold!r}: a threshold is a number from 0 to 1"
            )
        result[str(label)] = float(threshold)
    return result


def label_table(model_key: str | None = None) -> dict[str, Label]:
    """Every label, name -> Label, for the model `model_key` names (None: the active
    model), with the settings' thresholds applied over the model's defaults."""
    if model_key is None:
        model_key = _active_model_key()
    model_defaults = MODEL_REVIEW_DEFAULTS.get(model_family(model_key), {})
    review = _validated("MODERATION_REVIEW_THRESHOLDS", settings.MODERATION_REVIEW_THRESHOLDS)
    autohide = _validated(
        "MODERATION_AUTOHIDE_THRESHOLDS", settings.MODERATION_AUTOHIDE_THRESHOLDS
    )
    return {
        label.name: replace(
            label,
            review_threshold=review.get(
                label.name, model_defaults.get(label.name, label.review_threshold)),
            autohide_threshold=autohide.get(label.name, label.autohide_threshold),
        )
        for label in _DEFAULTS
    }


def label_get(name: str | None, table: dict[str, Label] | None = None) -> Label:
    """The label's row; an unknown name gets the broad label's thresholds and reason.

    `table`: a label_table() the caller already read, when it looks up several.
    """
    table = table if table is not None else label_table()
    if name in table:
        return table[name]
    broad = table[BROAD_LABEL]
    return replace(broad, name=name or "", display_name=(name or "").replace("_", " "))


def pivot_threshold() -> float:
    """The review threshold of the broad label: where "most uncertain" is centred."""
    return label_table()[BROAD_LABEL].review_threshold


def score_is_over(label: str | None, score: float | None) -> bool:
    """Whether a label's score reaches its review threshold."""
    return score is not None and score >= label_get(label).review_threshold


def reason_suggested(label: str | None, score: float | None) -> str:
    """The reason a card preselects for hide / flag.

    The top label's default reason only when its score reaches the label's
    review threshold: a 3 % "insult" is no evidence of harassment, so a
    comment the model does not flag starts at "other".
    """
    if not score_is_over(label, score):
        return ReasonCode.OTHER
    return label_get(label).default_reason
