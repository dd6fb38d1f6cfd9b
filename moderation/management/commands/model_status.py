"""Which model scores the comments, why it was chosen, and how to install the official one."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from moderation.scoring.status import model_status, model_status_line


class Command(BaseCommand):
    help = ("Show the active scoring model, why it was chosen, its labels, languages and "
            "precision, and how to install the official detoxify models.")
    requires_system_checks: list[str] = []  # it explains what the checks warn about

    def add_arguments(self, parser: CommandParser) -> None:
        output = parser.add_mutually_exclusive_group()
        output.add_argument("--line", action="store_true", help="one line (make demo prints it)")
        output.add_argument("--json", action="store_true")

    def handle(self, *args, **options) -> None:
        status = model_status()
        if options["json"]:
            self.stdout.write(json.dumps(status.as_dict(), indent=2))
        elif options["line"]:
            self.stdout.write(model_status_line(status))
        else:
            self._human(status)
        if status.error:
            raise CommandError(status.error)

    def _human(self, status) -> None:  # noqa: ANN001 (a ModelStatus)
        write = self.stdout.write
        write(f"Active model: {status.name}")
        write(f"  key:        {status.key or '-'}")
        write(f"  why:        {status.reason}")
        write("  labels:     " + (", ".join(status.labels) if status.labels
                                  else "read from the checkpoint when it loads"))
        write("  languages:  " + (", ".join(status.languages) if status.languages
                                  else "not stated by this model"))
        if status.precision:
            write(f"  precision:  {status.precision} ({status.precision_reason})")
        if status.checkpoint:
            write(f"  checkpoint: {status.checkpoint}")
            write(f"  hf config:  {status.hf_config or '-'}")
        if status.manifest:
            checkpoint = status.manifest.get("checkpoint", {})
            write(f"  release:    {checkpoint.get('url')}")
            write(f"  sha256:     {checkpoint.get('release_sha256')} (as released)")
        if status.last_failed_download:
            failed = status.last_failed_download
            write(f"Last official download failed ({failed.get('model_type')}, "
                  f"{failed.get('at')}): {failed.get('error')}")
        write("Official detoxify models (downloaded, verified, made active):")
        for option in status.official:
            mark = "  (installed)" if option.installed else ""
            write(f"  {option.command:<58} {option.summary}{mark}")
