"""Create an API key for an integration; the key is printed once and never stored."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from moderation.api.keys import ApiKeyError, api_key_create
from moderation.models import ApiScope


class Command(BaseCommand):
    help = (
        "Create an API key NAME with one or more --scope (ingest, read, moderate, analyze). "
        "The key is printed once: store it in the integration now. Revoke it in admin "
        "(API keys: the Revoke action)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--scope", action="append", default=[], metavar="SCOPE",
            help=f"Repeatable, or comma-separated: {', '.join(ApiScope.values)}.",
        )
        parser.add_argument(
            "--user", default="",
            help="Record this key's moderation decisions as USERNAME (default: a service "
                 "account api:NAME).",
        )
        parser.add_argument("--rate-limit", type=int, default=None, metavar="PER_MINUTE",
                            help="Requests a minute for this key (default: API_RATE_LIMIT).")

    def handle(self, *args, name: str, scope: list[str], user: str, rate_limit: int | None,
               **options):
        scopes = [part for item in scope for part in item.split(",")]
        actor = None
        if user:
            user_model = get_user_model()
            actor = user_model.objects.filter(**{user_model.USERNAME_FIELD: user}).first()
            if actor is None:
                raise CommandError(f"no user {user!r}")
        if rate_limit is not None and rate_limit < 1:
            raise CommandError("--rate-limit must be at least 1")
        try:
            created = api_key_create(name=name, scopes=scopes, actor=actor,
                                     rate_limit=rate_limit)
        except ApiKeyError as exc:
            raise CommandError(str(exc)) from exc
        key = created.key
        self.stdout.write(self.style.SUCCESS(
            f"API key {key.name!r} created with scopes: {', '.join(key.scopes)}."
        ))
        if key.actor is not None:
            self.stdout.write(f"Its decisions are recorded as {key.actor.get_username()}.")
        self.stdout.write("The key (shown once, store it now):")
        self.stdout.write(created.secret)
