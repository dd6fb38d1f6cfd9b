"""Policy writes: every change to a rule or a word list, and every re-apply, with its audit row.

Each write and its PolicyChange (who, when, before, after) are one
transaction. A change takes effect for the next comment scored (the policy
reads the rules per comment); comments already scored keep their state
until someone re-applies the policy to the pending ones
(`pending_policy_reapply`, previewed by `pending_policy_preview`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from moderation.models import PolicyChange, PolicyRule, WatchedWordList
from moderation.scoring.policy import (
    APPROVE,
    HIDE,
    REVIEW,
    Policy,
    comment_policy_apply,
    policy_evaluate,
)
from moderation.scoring.rules import RuleBook, RuleSpec

from .selectors import pending_scored, pending_scores

REAPPLY_CHUNK = 500


def _rule_json(rule: PolicyRule | None) -> dict | None:
    if rule is None:
        return None
    return {"source": rule.source, "thread": rule.thread_id, "label": rule.label,
            "review_threshold": rule.review_threshold,
            "autohide_threshold": rule.autohide_threshold,
            "autoapprove_below": rule.autoapprove_below}


def _words_json(word_list: WatchedWordList | None) -> dict | None:
    if word_list is None:
        return None
    return {"name": word_list.name, "source": word_list.source, "kind": word_list.kind,
            "words": word_list.word_list}


def _scope(spec: RuleSpec) -> str:
    return f"thread #{spec.thread_id}" if spec.thread_id else f"source {spec.source}"


def rule_save(*, actor: AbstractBaseUser | None, spec: RuleSpec,
              rule: PolicyRule | None = None) -> PolicyRule:
    """Create a rule, or change `rule` (locked), and audit it. The form validated `spec`."""
    with transaction.atomic():
        if rule is not None:
            rule = PolicyRule.objects.select_for_update().get(pk=rule.pk)
        else:
            rule = PolicyRule.objects.select_for_update().filter(
                source=spec.source, thread_id=spec.thread_id, label=spec.label).first()
        before = _rule_json(rule)
        rule = rule or PolicyRule()
        rule.source, rule.thread_id, rule.label = spec.source, spec.thread_id, spec.label
        rule.review_threshold = spec.review_threshold
        rule.autohide_threshold = spec.autohide_threshold
        rule.autoapprove_below = spec.autoapprove_below
        rule.save()
        verb = "changed" if before else "added"
        PolicyChange.objects.create(
            actor=actor, kind=PolicyChange.Kind.RULE, object_id=rule.pk,
            summary=f"{verb} the {spec.label} rule for {_scope(spec)}"[:300],
            before=before, after=_rule_json(rule))
    return rule


def rule_delete(*, actor: AbstractBaseUser | None, rule: PolicyRule) -> None:
    with transaction.atomic():
        locked = PolicyRule.objects.select_for_update().filter(pk=rule.pk).first()
        if locked is None:
            return
        spec = RuleSpec.of(locked)
        PolicyChange.objects.create(
            actor=actor, kind=PolicyChange.Kind.RULE, object_id=locked.pk,
            summary=f"removed the {spec.label} rule for {_scope(spec)} (back to the default)",
            before=_rule_json(locked), after=None)
        locked.delete()


def word_list_save(*, actor: AbstractBaseUser | None, name: str, source: str, kind: str,
                   words: list[str], word_list: WatchedWordList | None = None
                   ) -> WatchedWordList:
    with transaction.atomic():
        if word_list is not None:
            word_list = WatchedWordList.objects.select_for_update().get(pk=word_list.pk)
        before = _words_json(word_list)
        word_list = word_list or WatchedWordList()
        word_list.name, word_list.source, word_list.kind = name, source, kind
        word_list.words = "\n".join(words)
        word_list.save()
        after = _words_json(word_list)
        if before:
            added = len(set(after["words"]) - set(before["words"]))
            removed = len(set(before["words"]) - set(after["words"]))
            summary = f"changed word list {name!r}: {added} added, {removed} removed"
        else:
            summary = f"added word list {name!r} ({kind}, {len(words)} words)"
        PolicyChange.objects.create(actor=actor, kind=PolicyChange.Kind.WORDS,
                                    object_id=word_list.pk, summary=summary[:300],
                                    before=before, after=after)
    return word_list


def word_list_delete(*, actor: AbstractBaseUser | None, word_list: WatchedWordList) -> None:
    with transaction.atomic():
        locked = WatchedWordList.objects.select_for_update().filter(pk=word_list.pk).first()
        if locked is None:
            return
        PolicyChange.objects.create(
            actor=actor, kind=PolicyChange.Kind.WORDS, object_id=locked.pk,
            summary=f"removed word list {locked.name!r}"[:300], before=_words_json(locked),
            after=None)
        locked.delete()


@dataclass
class ReapplyPreview:
    """What re-applying the saved policy to the pending comments would change."""

    examined: int = 0
    changes: Counter = field(default_factory=Counter)  # "enter queue", "leave queue", ...
    # Ids to change, by id; the apply re-evaluates each under its row lock.
    ids: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.changes.values())


def _change(outcome: str | None, needs_review: bool) -> str | None:
    if outcome == HIDE:
        return "hide"
    if outcome == APPROVE:
        return "approve"
    if outcome == REVIEW and not needs_review:
        return "enter the queue"
    if outcome is None and needs_review:
        return "leave the queue"
    return None


def pending_policy_preview(*, model_key: str, policy: Policy | None = None) -> ReapplyPreview:
    """Evaluate the saved policy on every pending comment this model scored (no writes)."""
    policy = policy or Policy(RuleBook.load())
    preview = ReapplyPreview()
    after = 0
    while True:
        rows = pending_scored(model_key=model_key, after_id=after, limit=REAPPLY_CHUNK * 4)
        if not rows:
            return preview
        for pk, scores, source, thread_id, body, needs_review in rows:
            verdict = policy_evaluate(scores=scores, model_key=model_key, source=source,
                                      thread_id=thread_id, body=body, policy=policy)
            change = _change(verdict.outcome, needs_review)
            preview.examined += 1
            if change:
                preview.changes[change] += 1
                preview.ids.append(pk)
        after = rows[-1][0]


def pending_policy_reapply(*, actor: AbstractBaseUser | None, model_key: str) -> ReapplyPreview:
    """Re-apply the saved policy to the pending comments it would change; audit the run.

    Each comment through `comment_policy_apply` in its own short transaction
    with its row locked (the same path as scoring), so a moderator acting
    meanwhile is never overridden.
    """
    preview = pending_policy_preview(model_key=model_key)
    scores = dict(pending_scores(preview.ids, model_key))
    for start in range(0, len(preview.ids), REAPPLY_CHUNK):
        for pk in preview.ids[start:start + REAPPLY_CHUNK]:
            with transaction.atomic():
                if pk in scores:
                    comment_policy_apply(comment=pk, scores=scores[pk], model_key=model_key)
    summary = ", ".join(f"{n} {what}" for what, n in sorted(preview.changes.items()))
    PolicyChange.objects.create(
        actor=actor, kind=PolicyChange.Kind.REAPPLY,
        summary=f"re-applied the policy to {preview.examined:,} pending comments: "
                f"{summary or 'nothing changed'}"[:300],
        before=None, after={"changes": dict(preview.changes), "model_key": model_key})
    return preview

