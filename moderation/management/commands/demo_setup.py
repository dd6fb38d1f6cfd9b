"""Prepare the demo: a moderator account and the fixtures imported.

Re-running it is safe: the import is idempotent, and an existing demo
moderator keeps their password (changing it would sign everyone out).
`--credentials` only prints how to sign in (make demo prints it last);
`--wait-for-scoring N` waits for a running worker to score the import.
"""

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from moderation.decisions.accounts import moderator_create
from moderation.scoring.pipeline import comments_needing_scoring
from moderation.scoring.registry import scorer_choice

DEMO_USERNAME = "moderator"
DEMO_PASSWORD = "threadkeeper-demo"
# Seconds without progress after which the worker is taken to be gone.
STALL_SECONDS = 30


class Command(BaseCommand):
    help = "DEBUG only: create the demo moderator and import fixtures/."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--credentials", action="store_true",
                            help="only print the demo moderator's sign-in")
        parser.add_argument("--wait-for-scoring", type=int, default=0, metavar="SECONDS",
                            help="wait up to SECONDS for a worker to score what is unscored; "
                                 "then score what it has not reached, in this process")
        parser.add_argument("--url", default="http://127.0.0.1:8000/",
                            help="the address printed with the credentials")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("demo_setup creates a known password; run it with DEBUG=1 only.")
        if options["credentials"]:
            self._credentials(options["url"])
            return
        if options["wait_for_scoring"]:
            self._wait_for_scoring(options["wait_for_scoring"])
            return
        user_model = get_user_model()
        exists = user_model.objects.filter(**{user_model.USERNAME_FIELD: DEMO_USERNAME}).exists()
        # The same service as `create_moderator`; the well-known demo password
        # would fail the validators, which is fine only because DEBUG is on.
        # An existing account keeps its password: setting it again would end
        # every session signed in as it.
        moderator_create(username=DEMO_USERNAME, password=None if exists else DEMO_PASSWORD,
                         validate=False)
        call_command("import_threads", str(settings.BASE_DIR / "fixtures"))
        self._credentials(options["url"])

    def _credentials(self, url: str) -> None:
        user_model = get_user_model()
        user = user_model.objects.filter(**{user_model.USERNAME_FIELD: DEMO_USERNAME}).first()
        if user is None:
            raise CommandError("no demo moderator yet: run demo_setup first")
        password = (repr(DEMO_PASSWORD) if user.check_password(DEMO_PASSWORD)
                    else "(changed since the first run; yours)")
        line = "=" * 64
        self.stdout.write(self.style.SUCCESS(
            f"{line}\n  Threadkeeper demo: {url}\n"
            f"  Sign in as {DEMO_USERNAME!r}, password {password}\n{line}"
        ))

    def _wait_for_scoring(self, seconds: int) -> None:
        key = scorer_choice().key
        deadline = time.monotonic() + seconds
        left = comments_needing_scoring(model_key=key, stale=False).count()
        progress_at = time.monotonic()
        while left and time.monotonic() < deadline:
            time.sleep(1)
            now_left = comments_needing_scoring(model_key=key, stale=False).count()
            if now_left < left:
                progress_at = time.monotonic()
            elif time.monotonic() - progress_at > STALL_SECONDS:
                break
            left = now_left
        if left:
            self.stdout.write(f"the worker left {left} comment(s) unscored; scoring them here")
            call_command("rescore", "--sync", "--unscored")
        else:
            self.stdout.write("the worker scored every imported comment")
