"""Subscribe a receiver to the decisions feed's events; prints the signing secret."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from moderation.events.webhooks import webhook_subscription_create
from moderation.models import EventType


class Command(BaseCommand):
    help = (
        "Create a webhook subscription NAME delivering to URL (https; see WEBHOOK_* settings). "
        "The last line printed is its whsec_ signing secret, for the receiver's verification. "
        "Manage it later in admin (Webhook subscriptions)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("url")
        parser.add_argument(
            "--event", action="append", default=[], metavar="TYPE",
            help=f"Repeatable, or comma-separated (default comment.state_changed): "
                 f"{', '.join(EventType.values)}.",
        )

    def handle(self, *args, name: str, url: str, event: list[str], **options):
        types = [part.strip() for item in event for part in item.split(",") if part.strip()]
        try:
            sub = webhook_subscription_create(name=name, url=url,
                                              event_types=types or [EventType.STATE_CHANGED])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"Webhook {sub.name} -> {sub.url} for {', '.join(sub.event_types)}; signing secret:"))
        self.stdout.write(sub.secret)
