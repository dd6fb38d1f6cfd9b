"""Backtest a proposed rule or word list against moderators' past decisions (docs/policy.md).

    python manage.py policy_backtest --source disqus --label toxicity --review 0.7 [--autohide 0.9]
    python manage.py policy_backtest --words banned.txt --kind banned [--source disqus]
    python manage.py policy_backtest ... --days 60 --json

Exit status 0; 2 for bad arguments (each named). Writes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from moderation.policy.backtest import policy_backtest, proposal_with_rule, proposal_with_words
from moderation.policy.forms import RuleForm, WordListForm
from moderation.policy.selectors import policy_model_key


class Command(BaseCommand):
    help = "What a proposed threshold, rule or word list would have done to decided comments."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=settings.POLICY_BACKTEST_DAYS)
        parser.add_argument("--model", default="", help="model key (default: the active one)")
        parser.add_argument("--source", default="")
        parser.add_argument("--thread", type=int, default=None)
        parser.add_argument("--label", default="")
        parser.add_argument("--review", type=float, default=None, help="review threshold")
        parser.add_argument("--autohide", type=float, default=None)
        parser.add_argument("--autoapprove", type=float, default=None)
        parser.add_argument("--words", type=Path, default=None,
                            help="a file of words, one per line (a proposed list)")
        parser.add_argument("--kind", choices=["banned", "suspect"], default="suspect")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, **options) -> None:
        if options["words"] is not None:
            try:
                text = options["words"].read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"--words {options['words']}: {exc}") from None
            form = WordListForm({"name": options["words"].name[:100], "kind": options["kind"],
                                 "source": options["source"], "words": text,
                                 "days": options["days"]})
            self._check(form)
            spec = form.spec(None)
            proposal = proposal_with_words(spec)
            sources = [spec.source] if spec.source else None
        else:
            form = RuleForm({"source": options["source"], "thread": options["thread"] or "",
                             "label": options["label"], "review_threshold": options["review"],
                             "autohide_threshold": options["autohide"] or "",
                             "autoapprove_below": options["autoapprove"] or "",
                             "days": options["days"]})
            self._check(form)
            spec = form.spec()
            proposal = proposal_with_rule(spec)
            sources = [spec.source]
        model_key = options["model"] or policy_model_key(days=options["days"])
        result = policy_backtest(proposed=proposal, model_key=model_key,
                                 days=form.cleaned_data["days"], sources=sources)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), indent=2))
            return
        data = result.as_json()
        self.stdout.write(f"{data['decided']} decided comments in {data['days']} days "
                          f"(model {model_key}); moderators acted on "
                          f"{data['moderators_acted_on']}; {data['changed']} would change.")
        for name in ("current", "proposed"):
            o = data[name]
            self.stdout.write(
                f"{name:>9}: queued {o['queued']}, hidden {o['hidden']}, approved "
                f"{o['approved']}, precision {_pct(o['precision'])}, recall {_pct(o['recall'])}")
        for title, rows in (("would act, moderators approved", data["false_alarms"]),
                            ("would not act, moderators acted", data["misses"])):
            self.stdout.write(f"{title}: {len(rows)}")
            for row in rows:
                self.stdout.write(f"  #{row['comment']} ({row['source']}): moderators "
                                  f"{row['moderators']}, proposed {row['proposed']}, "
                                  f"{row['label']} {row['score']}")

    def _check(self, form) -> None:
        if not form.is_valid():
            problems = "; ".join(f"--{name.replace('_threshold', '').replace('_', '-')}: "
                                 f"{' '.join(errors)}" for name, errors in form.errors.items())
            raise CommandError(problems, returncode=2)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"
