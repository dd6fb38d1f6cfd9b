"""System checks: say loudly when scores come from the last-resort fallback."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured


@register()
def scorer_check(app_configs=None, **kwargs):
    from .labels import label_table
    from .registry import scorer_choice

    messages = []
    try:
        label_table()
        choice = scorer_choice()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="moderation.E001")]
    # Only when the fallback stands in for a model that cannot be used:
    # SCORER=fallback is a choice already made, and a warning on every command
    # would be noise. The embedded model standing in for detoxify is the
    # ordinary offline default, not news either.
    if choice.is_fallback and settings.SCORER != "fallback":
        messages.append(
            Warning(
                "Toxicity scores come from the last-resort fallback scorer "
                "(alt-profanity-check, a profanity filter), not a toxicity model.",
                hint=f"{choice.reason}. Restore moderation/scoring/embedded_model/ from the "
                "repository, or install the official detoxify model: python manage.py "
                "install_model --official original (offline: --checkpoint FILE --hf-config "
                "DIR); python manage.py model_status says more (docs/scoring.md).",
                id="moderation.W001",
            )
        )
    return messages
