"""Decisions the import itself implies (imported by apps.py)."""

from __future__ import annotations

from django.dispatch import receiver

from threads.signals import comments_changed


@receiver(comments_changed, dispatch_uid="moderation.arrived_hidden")
def record_arrived_hidden(sender, comment_ids, **kwargs) -> None:
    """Comments deleted or removed at their source arrive hidden: say so in their history."""
    from .services import comments_arrived_hidden_record

    comments_arrived_hidden_record(comment_ids=comment_ids)
