"""Prepare the demo: a moderator account and the fixtures imported."""

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

DEMO_USERNAME = "moderator"
DEMO_PASSWORD = "threadkeeper-demo"


class Command(BaseCommand):
    help = "DEBUG only: create the demo moderator and import fixtures/."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("demo_setup creates a known password; run it with DEBUG=1 only.")
        user, _ = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        user.is_staff = True
        user.set_password(DEMO_PASSWORD)
        user.save()
        call_command("import_threads", str(Path(settings.BASE_DIR) / "fixtures"))
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo moderator: username {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r}"
            )
        )
