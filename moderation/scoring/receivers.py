"""Score comments when an import or edit changes them (imported by apps.py)."""

from __future__ import annotations

from django.conf import settings
from django.dispatch import receiver

from threads.signals import comments_changed


@receiver(comments_changed, dispatch_uid="moderation.enqueue_scoring")
def enqueue_scoring_on_change(sender, comment_ids, **kwargs) -> None:
    if not settings.SCORING_AUTO_ENQUEUE:
        return
    from .pipeline import comments_enqueue_scoring

    comments_enqueue_scoring(comment_ids=comment_ids)
