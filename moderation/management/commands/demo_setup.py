"""Prepare the demo: a moderator account and the fixtures imported."""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from moderation.decisions.accounts import moderator_create

DEMO_USERNAME = "moderator"
DEMO_PASSWORD = "threadkeeper-demo"


class Command(BaseCommand):
    help = "DEBUG only: create the demo moderator and import fixtures/."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("demo_setup creates a known password; run it with DEBUG=1 only.")
        # The same service as `create_moderator`; the well-known demo password
        # would fail the validators, which is fine only because DEBUG is on.
        moderator_create(username=DEMO_USERNAME, password=DEMO_PASSWORD, validate=False)
        call_command("import_threads", str(Path(settings.BASE_DIR) / "fixtures"))
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo moderator: username {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r}"
            )
        )
