"""Backtest: what a proposed rule or word list would have done to the comments moderators
decided in the last N days, beside what the saved policy would have done.

Both are evaluated by `policy_evaluate` (moderation/scoring/policy.py), the code
path scoring uses, on each decided comment's stored scores (and text, when
word lists are involved). The moderators' standing decisions are the truth:
hide and flag say "act", approve and restore say "leave it". A policy "acts"
on a comment when it would queue or hide it; precision is the share of those
the moderators acted on, recall the share of the moderators' actions it
would have caught.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from moderation.scoring.policy import APPROVE, HIDE, REVIEW, Policy, WordListSpec, policy_evaluate
from moderation.scoring.rules import RuleBook, RuleSpec

from .selectors import DecidedComment, decided_bodies, decided_comments, word_lists

# Disagreeing comments listed per kind.
EXAMPLES = 25


@dataclass
class Outcomes:
    """What one policy would have done to the decided comments."""

    queued: int = 0
    hidden: int = 0
    approved: int = 0
    untouched: int = 0
    true_positives: int = 0
    # Automatic actions that contradict the moderators: the costly mistakes.
    hidden_but_approved: int = 0
    approved_but_acted: int = 0

    @property
    def acted(self) -> int:
        return self.queued + self.hidden

    def precision(self) -> float | None:
        return self.true_positives / self.acted if self.acted else None

    def recall(self, positives: int) -> float | None:
        return self.true_positives / positives if positives else None


@dataclass
class Example:
    comment_id: int
    thread_id: int
    source: str
    action: str  # the moderators' standing decision
    proposed: str  # what the proposal would do: hide, review, approve or "" (nothing)
    current: str
    score_label: str
    score: float | None
    body: str = ""


@dataclass
class BacktestResult:
    days: int
    decided: int = 0
    positives: int = 0
    current: Outcomes = field(default_factory=Outcomes)
    proposed: Outcomes = field(default_factory=Outcomes)
    changed: int = 0  # comments whose outcome the proposal changes
    false_alarms: list[Example] = field(default_factory=list)  # acts, moderators approved
    misses: list[Example] = field(default_factory=list)  # does not act, moderators acted
    model_key: str = ""
    sources: list[str] | None = None

    def as_json(self) -> dict:
        def outcome(o: Outcomes) -> dict:
            return {"queued": o.queued, "hidden": o.hidden, "approved": o.approved,
                    "untouched": o.untouched, "precision": o.precision(),
                    "recall": o.recall(self.positives),
                    "hidden_but_moderators_approved": o.hidden_but_approved,
                    "approved_but_moderators_acted": o.approved_but_acted}

        def examples(rows: list[Example]) -> list[dict]:
            return [{"comment": e.comment_id, "thread": e.thread_id, "source": e.source,
                     "moderators": e.action, "proposed": e.proposed or "nothing",
                     "current": e.current or "nothing", "label": e.score_label,
                     "score": e.score} for e in rows]

        return {"days": self.days, "model_key": self.model_key, "sources": self.sources,
                "decided": self.decided, "moderators_acted_on": self.positives,
                "current": outcome(self.current), "proposed": outcome(self.proposed),
                "changed": self.changed, "false_alarms": examples(self.false_alarms),
                "misses": examples(self.misses)}


def saved_word_lists() -> list[WordListSpec]:
    return [WordListSpec(row.pk, row.name, row.source, row.kind, tuple(row.word_list))
            for row in word_lists()]


def saved_policy() -> Policy:
    return Policy(RuleBook.load(), word_lists=saved_word_lists())


def proposal_with_rule(spec: RuleSpec, *, remove: bool = False) -> Policy:
    saved = saved_policy()
    return Policy(saved.book.with_rule(spec, remove=remove), word_lists=saved.word_lists)


def proposal_with_words(spec: WordListSpec, *, remove: bool = False) -> Policy:
    saved = saved_policy()
    lists = [s for s in saved.word_lists or [] if spec.list_id is None or s.list_id != spec.list_id]
    if not remove:
        lists.append(spec)
    return Policy(saved.book, word_lists=lists)


def _tally(outcomes: Outcomes, verdict_outcome: str | None, item: DecidedComment) -> None:
    if verdict_outcome == HIDE:
        outcomes.hidden += 1
        if not item.positive:
            outcomes.hidden_but_approved += 1
    elif verdict_outcome == REVIEW:
        outcomes.queued += 1
    elif verdict_outcome == APPROVE:
        outcomes.approved += 1
        if item.positive:
            outcomes.approved_but_acted += 1
    else:
        outcomes.untouched += 1
    if verdict_outcome in (HIDE, REVIEW) and item.positive:
        outcomes.true_positives += 1


def policy_backtest(*, proposed: Policy, model_key: str, days: int,
                    sources: Iterable[str] | None = None,
                    current: Policy | None = None) -> BacktestResult:
    """Evaluate `proposed` and the saved policy (or `current`) on the decided comments."""
    current = current or saved_policy()
    sources = sorted(set(sources)) if sources is not None else None
    decided = decided_comments(model_key=model_key, days=days, sources=sources)
    needs_text = bool(proposed.word_lists) or bool(current.word_lists)
    bodies = decided_bodies(comment_ids=[d.comment_id for d in decided]) if needs_text else {}
    result = BacktestResult(days=days, decided=len(decided), model_key=model_key,
                            sources=sources)
    for item in decided:
        body = bodies.get(item.comment_id, "")
        kwargs = {"scores": item.scores, "model_key": model_key, "source": item.source,
                  "thread_id": item.thread_id, "body": body}
        now = policy_evaluate(policy=current, **kwargs)
        new = policy_evaluate(policy=proposed, **kwargs)
        result.positives += item.positive
        _tally(result.current, now.outcome, item)
        _tally(result.proposed, new.outcome, item)
        if now.outcome != new.outcome:
            result.changed += 1
        acts = new.outcome in (HIDE, REVIEW)
        if acts != item.positive:
            rows = result.misses if item.positive else result.false_alarms
            if len(rows) < EXAMPLES:
                rows.append(Example(item.comment_id, item.thread_id, item.source, item.action,
                                    new.outcome or "", now.outcome or "", new.ml.top_label,
                                    new.ml.top_score))
    examples = result.false_alarms + result.misses
    if examples:
        texts = bodies or decided_bodies(comment_ids=[e.comment_id for e in examples])
        for example in examples:
            example.body = texts.get(example.comment_id, "")
    return result
