"""Imports write their events: `comments_changed` is sent inside the importing transaction."""

from __future__ import annotations

from django.dispatch import receiver

from threads.signals import comments_changed


@receiver(comments_changed, dispatch_uid="moderation.events.imported")
def record_import_events(sender, comment_ids, **kwargs) -> None:
    from .services import comments_imported_event_record

    comments_imported_event_record(comment_ids=list(comment_ids))
