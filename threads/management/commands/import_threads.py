import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from threads.importers import READERS, ImportFailure, expand_paths
from threads.services import threads_import_from_files


class Command(BaseCommand):
    help = (
        "Import comment threads from files or directories. Each file is one "
        "transaction: a bad record changes nothing in its file unless --skip-invalid "
        "is given, and the other files still import. Exits non-zero when any file "
        "failed, naming each."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--format", default="auto", choices=["auto", *sorted(READERS)])
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Import the good threads and list each skipped record.",
        )
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")

    def handle(self, *args, **options):
        try:
            files = expand_paths(options["paths"])
        except ImportFailure as exc:
            raise CommandError(str(exc)) from None
        # tqdm hides itself when stderr is not a terminal (CI, pipes).
        with tqdm(unit=" comments", disable=None, file=self.stderr._out, leave=False) as bar:
            report = threads_import_from_files(
                paths=files,
                fmt=options["format"],
                skip_invalid=options["skip_invalid"],
                on_progress=bar.update,
            )
        for line in report.warnings:
            self.stderr.write(f"warning: {line}")
        for line in report.skipped:
            self.stderr.write(f"skipped: {line}")
        for line in report.errors:
            self.stderr.write(self.style.ERROR(f"error: {line}"))
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self.stdout.write(report.summary())
        if report.errors:
            # One error per failed file, each naming the file and the record.
            failed = "\n".join(f"  {line}" for line in report.errors)
            raise CommandError(
                f"{len(report.errors)} of {report.files} file(s) failed; nothing was "
                f"imported from them (the others were):\n{failed}"
            )
