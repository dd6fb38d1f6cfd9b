"""Imports write their events (`comments_changed` is sent inside the importing transaction);
committed events wake the webhook fan-out."""

from __future__ import annotations

from django.dispatch import receiver

from moderation.decisions.events import events_committed
from threads.signals import comments_changed


@receiver(comments_changed, dispatch_uid="moderation.events.imported")
def record_import_events(sender, comment_ids, **kwargs) -> None:
    from moderation.decisions.events import comments_imported_event_record

    comments_imported_event_record(comment_ids=list(comment_ids))


@receiver(events_committed, dispatch_uid="moderation.events.fanout")
def fan_out_committed_events(sender, **kwargs) -> None:
    from .tasks import webhooks_fanout_send

    webhooks_fanout_send()
