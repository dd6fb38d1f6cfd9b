"""Scoring policy: the rules in force turn scores and text into system decisions.

A score only ever *proposes*: crossing a review threshold puts a pending
comment into the queue (and falling back under all of them takes it out)
through `comment_review_mark`; an auto-hide threshold, or a banned word when
MODERATION_BANNED_WORDS_ACTION is "hide", hides it through
`comment_action_apply` with no actor; an auto-approve score approves it. Each
writes a Decision carrying the label, score, model and threshold (and, for a
watched word, a WatchedWordHit naming the list and word), so the audit log
says why. The services stand down when a human already decided on this
text, so a score never overrides a moderator.

Evaluation is a list of checks (`CHECKS`): each reads a `Subject` (scores,
text, source, thread) and the rules, and returns a `Finding` or None. The
strongest finding decides: hide, then review, then approve. Another review
reason (a language the model does not read, an author rule) is one more
check. Thresholds: moderation/scoring/rules.py over the label table in
moderation/scoring/labels.py; watched words: moderation/scoring/watched.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.conf import settings

from moderation.decisions.services import MlContext, comment_action_apply, comment_review_mark
from moderation.models import Action, WatchedWordHit, WatchedWordList
from threads.models import Comment

from .authors import author_rules_apply
from .language import MIN_CONFIDENCE, Detection, unsupported_language_note
from .rules import RuleBook
from .watched import Hit, Matcher, matcher_for

# The Decision's label when a comment is queued because its model cannot read it.
LANGUAGE_LABEL = "language"

HIDE, REVIEW, APPROVE = "hide", "review", "approve"
_STRENGTH = {HIDE: 3, REVIEW: 2, APPROVE: 1}


@dataclass(frozen=True)
class Subject:
    """What the checks read of one comment."""

    scores: Mapping[str, float]
    model_key: str
    source: str = ""
    thread_id: int | None = None
    body: str = ""


@dataclass(frozen=True)
class Finding:
    outcome: str  # HIDE, REVIEW or APPROVE
    ml: MlContext
    reason: str = ""
    note: str = ""
    hits: tuple[Hit, ...] = ()


@dataclass(frozen=True)
class Verdict:
    needs_review: bool
    hide: bool
    ml: MlContext  # the deciding label: the one furthest over its threshold
    approve: bool = False
    reason: str = ""
    note: str = ""
    hits: tuple[Hit, ...] = ()
    findings: tuple[Finding, ...] = field(default=())

    @property
    def outcome(self) -> str | None:
        if self.hide:
            return HIDE
        if self.needs_review:
            return REVIEW
        return APPROVE if self.approve else None


@dataclass(frozen=True)
class WordListSpec:
    """A watched-word list's content, saved or proposed."""

    list_id: int | None
    name: str
    source: str  # "": every source
    kind: str
    words: tuple[str, ...]


@dataclass
class Policy:
    """The rules one evaluation uses: the saved ones, or a proposal in a backtest."""

    book: RuleBook
    # None: the saved lists, through the process-wide compiled cache (matcher_for).
    word_lists: list[WordListSpec] | None = None
    _matchers: dict[str, Matcher] = field(default_factory=dict)

    def matcher(self, source: str) -> Matcher:
        if self.word_lists is None:
            return matcher_for(source)
        if source not in self._matchers:
            self._matchers[source] = Matcher([
                (spec.list_id, spec.name, spec.kind, list(spec.words))
                for spec in self.word_lists if spec.source in ("", source)
            ])
        return self._matchers[source]


Check = Callable[[Subject, Policy], Finding | None]


def _over(subject: Subject, thresholds: Mapping[str, float]) -> str | None:
    over = [
        (score - thresholds[label], label)
        for label, score in subject.scores.items()
        if label in thresholds and score >= thresholds[label]
    ]
    return max(over)[1] if over else None


def score_check(subject: Subject, policy: Policy) -> Finding | None:
    """A score at or over its label's auto-hide threshold hides; over its review one, queues."""
    rules = {label: policy.book.rule_for(source=subject.source, thread_id=subject.thread_id,
                                         label=label, model_key=subject.model_key)
             for label in subject.scores}
    autohide = {label: rule.autohide_threshold for label, rule in rules.items()
                if rule.autohide_threshold is not None}
    label = _over(subject, autohide)
    if label is not None:
        ml = MlContext(label, subject.scores[label], subject.model_key, autohide[label])
        return Finding(HIDE, ml, reason=rules[label].default_reason,
                       note=f"auto-hidden by the scoring policy ({rules[label].origin})")
    review = {label: rule.review_threshold for label, rule in rules.items()}
    label = _over(subject, review)
    if label is not None:
        ml = MlContext(label, subject.scores[label], subject.model_key, review[label])
        return Finding(REVIEW, ml, reason=rules[label].default_reason)
    return None


def autoapprove_check(subject: Subject, policy: Policy) -> Finding | None:
    """Every label that has an auto-approve score is under it (and at least one has one)."""
    limits = {}
    for label in subject.scores:
        rule = policy.book.rule_for(source=subject.source, thread_id=subject.thread_id,
                                    label=label, model_key=subject.model_key)
        if rule.autoapprove_below is not None:
            limits[label] = (rule.autoapprove_below, rule.origin)
    if not limits or any(subject.scores[label] >= limit for label, (limit, _) in limits.items()):
        return None
    label = max(limits, key=lambda name: subject.scores[name])
    limit, origin = limits[label]
    return Finding(APPROVE, MlContext(label, subject.scores[label], subject.model_key, limit),
                   note=f"auto-approved by the scoring policy ({origin})")


def watched_words_check(subject: Subject, policy: Policy) -> Finding | None:
    """Banned words hide or queue (MODERATION_BANNED_WORDS_ACTION); suspect words queue."""
    hits = tuple(policy.matcher(subject.source).find(subject.body))
    if not hits:
        return None
    top = max(subject.scores, key=subject.scores.__getitem__) if subject.scores else ""
    ml = MlContext(top, subject.scores.get(top), subject.model_key, None)
    banned = [hit for hit in hits if hit.kind == WatchedWordList.Kind.BANNED]
    deciding = banned or hits
    words = ", ".join(dict.fromkeys(f'"{hit.word}" ({hit.list_name})' for hit in deciding))
    kind = "banned" if banned else "suspect"
    outcome = REVIEW
    if banned and settings.MODERATION_BANNED_WORDS_ACTION == HIDE:
        outcome = HIDE
    return Finding(outcome, ml, note=f"{kind} word: {words}"[:1000], hits=hits)


# Order matters only between findings of equal strength: the first one decides.
CHECKS: list[Check] = [score_check, watched_words_check, autoapprove_check]


def policy_evaluate(*, scores: Mapping[str, float], model_key: str, source: str = "",
                    thread_id: int | None = None, body: str = "",
                    policy: Policy | None = None) -> Verdict:
    """What the rules say about one comment (no writes).

    `policy`: the rules to use; by default those saved for the source (none
    are read for a call with no source and no text: the label table alone).
    """
    if policy is None:
        policy = Policy(RuleBook.load(sources=[source]) if source else RuleBook([]),
                        word_lists=None if body else [])
    subject = Subject(scores, model_key, source, thread_id, body)
    findings = tuple(f for f in (check(subject, policy) for check in CHECKS) if f is not None)
    hits = tuple(hit for f in findings for hit in f.hits)
    if findings:
        strongest = max(_STRENGTH[f.outcome] for f in findings)
        deciding = next(f for f in findings if _STRENGTH[f.outcome] == strongest)
        return Verdict(needs_review=deciding.outcome in (HIDE, REVIEW),
                       hide=deciding.outcome == HIDE, approve=deciding.outcome == APPROVE,
                       ml=deciding.ml, reason=deciding.reason, note=deciding.note, hits=hits,
                       findings=findings)
    top = max(scores, key=scores.__getitem__) if scores else ""
    rule = (policy.book.rule_for(source=source, thread_id=thread_id, label=top,
                                 model_key=model_key) if top else None)
    ml = MlContext(top, scores.get(top), model_key, rule.review_threshold if rule else None)
    return Verdict(needs_review=False, hide=False, ml=ml)


def comment_policy_apply(*, comment: Comment | int, scores: Mapping[str, float],
                         model_key: str, policy: Policy | None = None,
                         unsupported_language: Detection | None = None) -> str | None:
    """Apply the rules in force to a comment; returns the Action taken or None.

    `unsupported_language`: the comment was confidently detected in a language
    the model does not read. Its scores mean nothing, so it is neither trusted
    as clean nor auto-hidden: it enters review, and the Decision records the
    detection like a threshold crossing (label "language", the detector's
    confidence against MIN_CONFIDENCE) with the reason in its note.

    Call it inside the transaction that locked the comment and checked its
    text is the text scored.
    """
    pk = comment.pk if isinstance(comment, Comment) else comment
    source, thread_id, body = Comment.objects.filter(pk=pk).values_list(
        "thread__source", "thread_id", "body").get()
    verdict = policy_evaluate(scores=scores, model_key=model_key, source=source,
                              thread_id=thread_id, body=body, policy=policy)
    # Per-author rules first (ban, suspension, pre-moderation, trust): one call.
    taken = author_rules_apply(comment=comment, verdict=verdict)
    if taken is not None:
        return taken or None
    if unsupported_language is not None:
        ml = MlContext(LANGUAGE_LABEL, unsupported_language.confidence, model_key,
                       MIN_CONFIDENCE)
        decision = comment_review_mark(
            comment=comment, needs_review=True, ml=ml,
            note=unsupported_language_note(model_key, unsupported_language.language),
        )
        return decision.action if decision is not None else None
    if verdict.hide or verdict.approve:
        locked = comment if isinstance(comment, Comment) else Comment.objects.get(pk=comment)
        if locked.state == Comment.State.PENDING:
            decision = comment_action_apply(
                comment=locked, action=Action.HIDE if verdict.hide else Action.APPROVE,
                actor=None, reason=verdict.reason if verdict.hide else "",
                note=verdict.note, ml=verdict.ml,
            )
            if decision is not None:
                _record_hits(decision, verdict, body)
                return decision.action
    decision = comment_review_mark(comment=comment, needs_review=verdict.needs_review,
                                   ml=verdict.ml, note=verdict.note)
    if decision is not None:
        _record_hits(decision, verdict, body)
    return decision.action if decision is not None else None


def _record_hits(decision, verdict: Verdict, body: str) -> None:
    if verdict.hits and decision.action != Action.UNQUEUE:
        WatchedWordHit.objects.bulk_create([
            WatchedWordHit(decision=decision, word_list_id=hit.list_id,
                           list_name=hit.list_name[:100], kind=hit.kind, word=hit.word[:100],
                           matched_text=hit.text_in(body)[:200])
            for hit in verdict.hits[:50]
        ])
