"""Create (or update) a moderator account: staff, in the Moderators group."""

from __future__ import annotations

import getpass
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from moderation.decisions.accounts import moderator_create


class Command(BaseCommand):
    help = (
        "Create or update USERNAME as a moderator (staff, Moderators group). "
        "With --password-stdin the password is read from standard input; without it a "
        "new user gets a generated password, printed once, and an existing user keeps theirs."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from stdin (a prompt without echo on a terminal).",
        )

    def handle(self, *args, username: str, password_stdin: bool, **options):
        username = username.strip()
        if not username:
            raise CommandError("USERNAME must not be empty")
        password = self._read_password() if password_stdin else None
        try:
            user, generated = moderator_create(username=username, password=password)
        except ValidationError as exc:
            raise CommandError("password refused: " + " ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"{user.get_username()} is a moderator."))
        if generated:
            self.stdout.write(f"Generated password (shown once): {generated}")
        elif password is None:
            self.stdout.write("Existing password kept (use --password-stdin to set one).")

    def _read_password(self) -> str:
        stdin = sys.stdin
        if stdin.isatty():
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("the passwords do not match")
        else:
            # One line; a trailing newline from `echo` or a file is not part of it.
            password = stdin.readline().rstrip("\r\n")
        if not password:
            raise CommandError("no password on stdin")
        return password
