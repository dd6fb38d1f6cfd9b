"""The one answer to "which threshold and automatic action for (source, thread, label)".

A rule set (`RuleBook`) is read once per comment from the policy rules in the
database (moderation.models.PolicyRule, edited in the dashboard and in admin
through moderation.policy.services). The most specific rule wins, as a whole:
the thread's rule for the label, else its source's, else the label table's
defaults (moderation/scoring/labels.py, with the settings applied). A change
takes effect for the next comment scored: nothing is cached across comments.

A backtest evaluates a proposed rule by handing `policy_evaluate` a RuleBook
with the proposal in it (`RuleBook.with_rule`): the same code path as scoring.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from moderation.models import PolicyRule

from .labels import Label, label_get, label_table


@dataclass(frozen=True)
class Rule:
    """What applies to one label of one comment, and where it came from."""

    label: str
    review_threshold: float
    autohide_threshold: float | None
    autoapprove_below: float | None
    default_reason: str
    # "thread #12", "source disqus" or "default": shown in the audit and the backtest.
    origin: str


@dataclass(frozen=True)
class RuleSpec:
    """A rule row's content, saved or proposed (no database identity)."""

    source: str
    thread_id: int | None
    label: str
    review_threshold: float
    autohide_threshold: float | None = None
    autoapprove_below: float | None = None

    @classmethod
    def of(cls, row: PolicyRule) -> RuleSpec:
        return cls(row.source, row.thread_id, row.label, row.review_threshold,
                   row.autohide_threshold, row.autoapprove_below)

    @property
    def key(self) -> tuple[str, int | None, str]:
        return (self.source if self.thread_id is None else "", self.thread_id, self.label)


class RuleBook:
    """Rules by (source, thread, label) over the label table's defaults."""

    def __init__(self, specs: Iterable[RuleSpec], table: dict[str, Label] | None = None) -> None:
        self._table = table  # the active model's, read when first needed (it costs a query)
        self._specs = {spec.key: spec for spec in specs}
        self._tables: dict[str, dict[str, Label]] = {}  # model key -> its label table

    @property
    def table(self) -> dict[str, Label]:
        if self._table is None:
            self._table = label_table()
        return self._table

    @classmethod
    def load(cls, *, sources: Iterable[str] | None = None) -> RuleBook:
        """The saved rules (of these sources and their threads, when given)."""
        rows = PolicyRule.objects.all()
        if sources is not None:
            rows = rows.filter(source__in=list(sources))
        return cls(RuleSpec.of(row) for row in rows)

    def with_rule(self, spec: RuleSpec, *, remove: bool = False) -> RuleBook:
        """A copy with this rule added or replaced (or removed): what a backtest evaluates."""
        specs = dict(self._specs)
        if remove:
            specs.pop(spec.key, None)
        else:
            specs[spec.key] = spec
        return RuleBook(specs.values(), self._table)

    @property
    def specs(self) -> list[RuleSpec]:
        return list(self._specs.values())

    def rule_for(self, *, source: str, thread_id: int | None, label: str,
                 model_key: str | None = None) -> Rule:
        """The threshold and automatic actions for this label of a comment in this thread.

        With no rule saved, the label table's defaults for the model that made
        the score (`model_key`; None: the active model's).
        """
        if model_key is None:
            table = self.table
        else:
            if model_key not in self._tables:
                self._tables[model_key] = label_table(model_key)
            table = self._tables[model_key]
        base = label_get(label, table)
        spec = self._specs.get(("", thread_id, label)) if thread_id is not None else None
        origin = f"thread #{thread_id}"
        if spec is None:
            spec = self._specs.get((source, None, label))
            origin = f"source {source}"
        if spec is None:
            return Rule(label, base.review_threshold, base.autohide_threshold, None,
                        base.default_reason, "default")
        return Rule(label, spec.review_threshold, spec.autohide_threshold,
                    spec.autoapprove_below, base.default_reason, origin)


def rule_get(*, source: str, thread_id: int | None, label: str) -> Rule:
    """The rule in force now for one label of a comment in this thread (reads the database)."""
    return RuleBook.load(sources=[source]).rule_for(source=source, thread_id=thread_id,
                                                    label=label)


def default_rule(label: str) -> Rule:
    """The label table's defaults for a label, as a Rule (no database)."""
    base = label_get(label)
    return Rule(label, base.review_threshold, base.autohide_threshold, None,
                base.default_reason, "default")
