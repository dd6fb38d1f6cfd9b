"""Re-score comments: enqueue batches for the workers, or score here with --sync."""

from __future__ import annotations

import json
import sys
from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from moderation.scoring.base import describe_model_key
from moderation.scoring.detoxify import CheckpointRefusedError
from moderation.scoring.pipeline import (
    ScoreReport,
    comments_needing_scoring,
    comments_score_in_process,
    scoring_publish_batches,
)
from moderation.scoring.registry import active_scorer, scorer_choice
from threads.models import Comment, Thread


def _parse_since(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--since {value!r}: use YYYY-MM-DD or an ISO date-time")
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class Command(BaseCommand):
    help = (
        "Re-score comments with the active model. Enqueues batches for the Celery workers, "
        "or scores in this process with --sync. Comments whose text this model already "
        "scored are skipped unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--thread", type=int, action="append", default=[], metavar="ID",
                            help="only this thread (repeatable)")
        parser.add_argument("--all", action="store_true", help="every comment")
        parser.add_argument("--unscored", action="store_true",
                            help="comments this model has not scored")
        parser.add_argument("--stale", action="store_true",
                            help="comments whose text changed since this model scored them")
        parser.add_argument("--since", type=_parse_since, metavar="DATE",
                            help="comments posted (or, undated, imported) since DATE")
        parser.add_argument("--force", action="store_true",
                            help="score again even if this text was scored by this model")
        parser.add_argument("--sync", action="store_true",
                            help="score in this process (progress bar) instead of enqueueing")
        parser.add_argument("--batch-size", type=int, default=None, metavar="N",
                            help="comments per task message (or per write with --sync)")
        parser.add_argument("--dry-run", action="store_true",
                            help="say what would be scored; change nothing")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    def handle(self, *args, **options) -> None:
        if not (options["thread"] or options["all"] or options["unscored"] or options["stale"]
                or options["since"]):
            raise CommandError("say what to re-score: --all, --unscored, --stale, --thread ID "
                               "or --since DATE")
        if options["batch_size"] is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        missing = set(options["thread"]) - set(
            Thread.objects.filter(pk__in=options["thread"]).values_list("pk", flat=True)
        )
        if missing:
            raise CommandError(f"no thread with id {', '.join(map(str, sorted(missing)))}")

        choice = scorer_choice()
        queryset = self._select(choice.key, options)
        total = queryset.count()
        if not options["force"]:
            queryset = queryset.filter(
                pk__in=comments_needing_scoring(model_key=choice.key).values("pk")
            )
        todo = list(queryset.order_by("pk").values_list("pk", flat=True))
        skipped = total - len(todo)

        report = ScoreReport(model_key=choice.key, skipped=skipped)
        if options["dry_run"]:
            report.scored = len(todo)
        elif options["sync"]:
            report.merge(self._score_sync(todo, options))
        else:
            report.scored = self._enqueue(todo, options)

        self._summary(report, options, choice.reason)

    def _select(self, key: str, options: dict):
        if options["unscored"] or options["stale"]:
            queryset = comments_needing_scoring(
                model_key=key, unscored=options["unscored"], stale=options["stale"]
            )
        else:
            queryset = Comment.objects.all()
        if options["thread"]:
            queryset = queryset.filter(thread_id__in=options["thread"])
        if options["since"]:
            since = options["since"]
            queryset = queryset.filter(
                Q(created_at__gte=since) | Q(created_at__isnull=True, imported_at__gte=since)
            )
        return queryset

    def _score_sync(self, ids: list[int], options: dict) -> ScoreReport:
        from tqdm import tqdm

        try:
            scorer = active_scorer()
        except CheckpointRefusedError as exc:
            raise CommandError(str(exc)) from None  # nothing was scored
        with tqdm(total=len(ids), unit="comment", file=sys.stderr,
                  disable=options["json"] or not ids) as bar:
            return comments_score_in_process(comment_ids=ids, force=options["force"], scorer=scorer,
                                  batch_size=options["batch_size"], on_progress=bar.update)

    def _enqueue(self, ids: list[int], options: dict) -> int:
        sent = scoring_publish_batches(ids, force=options["force"],
                                       batch_size=options["batch_size"])
        if sent < len(ids):
            raise CommandError(
                f"the broker is unreachable after enqueueing {sent} of {len(ids)} "
                "comment(s); score in this process with --sync, or start Redis and "
                "run again (already-scored comments are skipped)"
            )
        return sent

    def _summary(self, report: ScoreReport, options: dict, reason: str) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json()))
            return
        verb = "would score" if options["dry_run"] else (
            "scored" if options["sync"] else "enqueued")
        line = (
            f"{verb} {report.scored}, skipped {report.skipped} unchanged, "
            f"{report.entered_queue} entered the queue, {report.left_queue} left it"
        )
        if report.hidden:
            line += f", {report.hidden} auto-hidden"
        if report.reused:
            line += f"; {report.reused} reused the score of an identical text"
        if report.unsupported_language:
            line += (f"; {report.unsupported_language} in a language the model does not read "
                     "(sent to review)")
        self.stdout.write(line)
        self.stdout.write(f"model: {describe_model_key(report.model_key)} [{reason}]")

