"""Moderation actions: the one code path for the dashboard, API, admin, commands and policy.

Every action locks the comment row, checks the transition and the version the
actor saw, changes the state and writes its Decision row in one transaction.
`comment_action_apply` acts on one comment; `comments_bulk_action_apply` on
many, each in its own transaction, collecting refusals. A branch hide over
BRANCH_HIDE_SYNC_MAX comments is a `BranchHideJob` that a worker runs in
chunks, each chunk one short transaction (`branch_hide_job_start`,
`branch_job_run`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from moderation.models import Action, BranchHideJob, Decision, ReasonCode, ToxicityScore
from threads.models import Comment
from threads.selectors import comment_subtree

from .events import decision_event_record
from .selectors import branch_jobs_stalled
from .states import (
    AUTHOR_DELETED,
    HIDE_BRANCH,
    RESTORE_BRANCH,
    SHOWING_ACTIONS,
    TRANSITIONS,
    UNDOABLE,
    State,
)

logger = logging.getLogger(__name__)

# Comments per chunk of a background branch job; each chunk is one transaction,
# short enough that the rows it locks are free again before anyone notices.
BRANCH_JOB_CHUNK = 500
# Chunks per task run; the run then sends the rest as a new message, so a long
# job neither holds one worker child throughout nor outlives the broker's
# visibility timeout (after which Redis would hand the message out again).
BRANCH_JOB_CHUNKS_PER_RUN = 20
# Seconds between chunks on SQLite, longer than its busy handler's longest sleep.
SQLITE_CHUNK_PAUSE = 0.15
# A queued or running job untouched for this long lost its worker or its message.
BRANCH_JOB_STALLED_AFTER = timedelta(minutes=5)


class ModerationError(Exception):
    """An action was refused; nothing was written. `comment_id`: the comment refused."""

    def __init__(self, message: str, *, comment_id: int | None = None) -> None:
        self.comment_id = comment_id
        super().__init__(message)


class IllegalTransition(ModerationError):
    def __init__(self, comment: Comment, action: str) -> None:
        self.comment = comment
        self.action = action
        allowed = ", ".join(sorted(TRANSITIONS.get(action, {}))) or "no state"
        super().__init__(
            f"cannot {action} comment #{comment.pk}: it is {comment.state} "
            f"({action} applies to {allowed})",
            comment_id=comment.pk,
        )


class StaleDecision(ModerationError):
    """The comment changed since the actor saw it; says who did what and when."""

    def __init__(self, comment: Comment, expected_version: int, last: Decision | None) -> None:
        self.comment = comment
        self.expected_version = expected_version
        self.last = last
        if last is not None and last.comment_version >= expected_version:
            who = last.actor.get_username() if last.actor else "the system"
            what = f"{who} {last.get_action_display().lower()} it ({last.from_state} -> " \
                   f"{last.to_state}) at {last.created_at:%Y-%m-%d %H:%M:%S %Z}"
            if last.comment_version + 1 < comment.version:
                # The last decision is not the last change: a re-import came after it.
                what += ", and its text changed after that"
        else:
            what = "its text changed (re-imported)"
        super().__init__(
            f"comment #{comment.pk} changed since you saw it (version {expected_version}, "
            f"now {comment.version}): {what}",
            comment_id=comment.pk,
        )


@dataclass(frozen=True)
class MlContext:
    """What the machine said at the moment of a decision."""

    top_label: str = ""
    top_score: float | None = None
    model_key: str = ""
    threshold: float | None = None


@dataclass
class BulkResult:
    decisions: list[Decision] = field(default_factory=list)
    # One line per comment that was not acted on, saying why.
    refused: list[ModerationError] = field(default_factory=list)
    # Branch hides too large for one request, started as background jobs.
    jobs: list[BranchHideJob] = field(default_factory=list)


def comment_action_apply(
    *,
    comment: Comment | int,
    action: str,
    actor: AbstractBaseUser | None,
    reason: str = "",
    note: str = "",
    expected_version: int | None = None,
    ml: MlContext | None = None,
) -> Decision | None:
    """Apply approve / flag / hide / restore to one comment.

    Locks the comment row (SELECT ... FOR UPDATE; on SQLite the IMMEDIATE
    transaction holds the database write lock) so that two moderators acting
    at once are serialised: the second sees the first's version bump and gets
    StaleDecision instead of silently overwriting it.

    Returns the Decision, or None when the system (actor None) stands down
    because a human already decided on this text.
    """
    if action not in TRANSITIONS:
        raise ModerationError(f"unknown action {action!r}", comment_id=_pk(comment))
    _check_reason(reason)
    with transaction.atomic():
        locked = _lock(comment)
        _check_version(locked, expected_version)
        if actor is None and _human_decided(locked):
            return None
        to_state = TRANSITIONS[action].get(locked.state)
        if to_state is None:
            raise IllegalTransition(locked, action)
        _check_not_author_deleted(locked, action)
        decision = _record(locked, action=action, to_state=to_state, actor=actor,
                           reason=reason, note=note, ml=ml)
    _sync(comment, locked)
    return decision


def comment_undo(*, decision: Decision, actor: AbstractBaseUser) -> Decision:
    """Reverse a decision with a new one (the log is never rewritten).

    Only while the comment is still as that decision left it: if anything
    happened since, StaleDecision says what. Only moderation actions (not the
    policy's queue bookkeeping) can be undone.
    """
    if decision.action not in UNDOABLE:
        raise ModerationError(
            f"decision #{decision.pk} ({decision.action}) cannot be undone; "
            f"only {', '.join(UNDOABLE)} can",
            comment_id=decision.comment_id,
        )
    with transaction.atomic():
        locked = _lock(decision.comment_id)
        undo = _undo_record(locked, decision, actor=actor)
        if undo is None:  # acted on since: say by whom
            _check_version(locked, decision.comment_version + 1)
        return undo


def _undo_record(comment: Comment, decision: Decision, *, actor: AbstractBaseUser | None,
                 job: BranchHideJob | None = None) -> Decision | None:
    """The one undo rule: a new decision taking the (locked) comment back to the state
    `decision` found, with its reason; only while nothing has happened to the comment
    since (its version is still the one `decision` left), else None."""
    if comment.version != decision.comment_version + 1:
        return None
    return _record(comment, action=Action.UNDO, to_state=decision.from_state, actor=actor,
                   reason=decision.reason, note=f"undo of decision #{decision.pk}", ml=None,
                   job=job)


def comment_review_mark(*, comment: Comment | int, needs_review: bool,
                        ml: MlContext | None, note: str = "") -> Decision | None:
    """The scoring policy puts a pending comment into the review queue or takes it out.

    A system decision, so the audit log shows why a comment entered the
    queue (`note`: why, when it was not a score). Does nothing if the flag
    already has that value, if the comment is no longer pending, or if a
    human already decided on this text.
    """
    with transaction.atomic():
        locked = _lock(comment)
        if (
            locked.needs_review == needs_review
            or locked.state != State.PENDING
            or _human_decided(locked)
        ):
            return None
        locked.needs_review = needs_review
        action = Action.QUEUE if needs_review else Action.UNQUEUE
        decision = _record(locked, action=action, to_state=locked.state, actor=None,
                           reason="", note=note, ml=ml, extra_fields=["needs_review"])
    _sync(comment, locked)
    return decision


def comment_branch_hide(
    *,
    comment: Comment | int,
    actor: AbstractBaseUser | None,
    reason: str = "",
    note: str = "",
    expected_version: int | None = None,
) -> list[Decision]:
    """Hide a comment and every reply under it in one transaction: one Decision per comment hidden.

    Locks the whole subtree (in path order,
    so two branch hides that overlap lock in the same order and cannot
    deadlock). The version check applies to the comment the moderator
    clicked; replies already hidden are left alone, and so is the system
    (actor None) on any reply a human already decided on. For branches up to
    BRANCH_HIDE_SYNC_MAX; `comments_bulk_action_apply` starts a background
    job (`branch_hide_job_start`) for larger ones.
    """
    _check_reason(reason)
    with transaction.atomic():
        root = _lock(comment)
        _check_version(root, expected_version)
        branch = list(comment_subtree(comment=root).select_for_update(of=("self",)))
        return _hide_nodes(branch, actor=actor, reason=reason, note=note, job=None)


def comment_branch_restore(
    *,
    comment: Comment | int,
    actor: AbstractBaseUser,
    note: str = "",
    expected_version: int | None = None,
) -> list[Decision]:
    """Restore a hidden comment and every hidden reply under it: one `restore` Decision each.

    The counterpart of `comment_branch_hide` beside it in the thread view.
    Comments that arrived hidden from their source (deleted or removed
    there; their last decision is `arrived_hidden`) stay hidden. Locks the
    subtree in path order, as the hide does. Up to BRANCH_HIDE_SYNC_MAX
    comments; a larger branch is refused with a message (a background hide
    is restored whole by its own "Restore branch").
    """
    with transaction.atomic():
        root = _lock(comment)
        _check_version(root, expected_version)
        subtree = comment_subtree(comment=root)
        limit = settings.BRANCH_HIDE_SYNC_MAX
        if subtree[: limit + 1].count() > limit:
            raise ModerationError(
                f"the branch of comment #{root.pk} has more than {limit:,} comments: restore "
                f"it with the Restore branch of its background hide, or comment by comment",
                comment_id=root.pk,
            )
        branch = list(subtree.filter(state=State.HIDDEN).select_for_update(of=("self",)))
        arrived = set(
            Decision.objects.filter(comment__in=branch, action=Action.ARRIVED_HIDDEN,
                                    comment_version=F("comment__version"))
            .values_list("comment_id", flat=True)
        )
        return [
            _record(node, action=Action.RESTORE, to_state=TRANSITIONS[Action.RESTORE][node.state],
                    actor=actor, reason="", note=note, ml=None)
            for node in branch if node.pk not in arrived
        ]


def comments_arrived_hidden_record(*, comment_ids: Iterable[int]) -> int:
    """A system Decision for each of these comments that arrived hidden and has none yet.

    Comments deleted, removed or marked spam at their source are imported
    hidden; without a decision their history said "No decisions yet" and no
    one could tell why they were hidden. The decision names the source's flag
    (`source_state`). Returns how many were written. Idempotent: a comment
    with any decision already is left alone.
    """
    ids = list(comment_ids)
    written = 0
    for start in range(0, len(ids), ARRIVED_HIDDEN_BATCH):
        chunk = ids[start:start + ARRIVED_HIDDEN_BATCH]
        # Most imported comments are not hidden: find those that are first,
        # then which of them already have a decision.
        hidden = list(Comment.objects.filter(pk__in=chunk, state=State.HIDDEN)
                      .only("pk", "version", "content_hash", "source_state"))
        if not hidden:
            continue
        decided = set(Decision.objects.filter(comment_id__in=[row.pk for row in hidden])
                      .values_list("comment_id", flat=True))
        rows = [row for row in hidden if row.pk not in decided]
        decisions = [
            Decision(
                comment=row, actor=None, action=Action.ARRIVED_HIDDEN,
                from_state=State.HIDDEN, to_state=State.HIDDEN, reason="",
                note=f"hidden at the source ({row.source_state})" if row.source_state
                else "hidden at the source",
                comment_version=row.version, content_hash=row.content_hash,
            )
            for row in rows
        ]
        Decision.objects.bulk_create(decisions, batch_size=ARRIVED_HIDDEN_BATCH)
        written += len(decisions)
    return written


ARRIVED_HIDDEN_BATCH = 1000


def branch_hide_job_start(
    *,
    comment: Comment | int,
    actor: AbstractBaseUser | None,
    reason: str = "",
    note: str = "",
    expected_version: int | None = None,
) -> BranchHideJob:
    """Hide a large branch in the background: the clicked comment now, its replies in chunks.

    The clicked comment is locked, checked against the version the moderator
    saw and hidden in this transaction, so the check means what it says and
    its card shows the new state at once. The job row is written in the same
    transaction and its task message sent when it commits; a broker that
    cannot be reached delays the job (the sweep sends it), never the request.
    """
    _check_reason(reason)
    with transaction.atomic():
        root = _lock(comment)
        _check_version(root, expected_version)
        job = BranchHideJob.objects.create(
            kind=BranchHideJob.Kind.HIDE, root=root, actor=actor, reason=reason, note=note,
            total=comment_subtree(comment=root).count(), done=1, last_path=root.path,
        )
        job.changed = len(_hide_nodes([root], actor=actor, reason=reason, note=note, job=job))
        job.save(update_fields=["changed", "updated_at"])
        transaction.on_commit(partial(_branch_job_send, job.pk))
    _sync(comment, root)
    return job


# Actions a batch may take; the transitions table says from which states.
BATCH_ACTIONS = (Action.APPROVE, Action.HIDE)
# The most comments one batch acts on: its snapshot is a list in the job row.
BATCH_MAX = 100_000


def comments_batch_start(
    *,
    items: list[tuple[int, int]],
    action: str,
    actor: AbstractBaseUser,
    reason: str = "",
    note: str = "",
    description: str = "",
) -> BranchHideJob:
    """Approve or hide a fixed set of comments as one batch with one undo (a score band, a ban).

    `items`: (comment id, version the moderator's count saw). Each comment is
    acted on only while it is still at that version (one changed since, by
    anyone, is skipped and counted) and the transition applies; one decision
    each, linked to the job, so `branch_job_undo_start` takes back exactly
    these. Up to BRANCH_HIDE_SYNC_MAX comments are done within this call;
    more are a background job a worker runs in chunks, resumable like a
    branch hide (`branch_job_run`).
    """
    if action not in BATCH_ACTIONS:
        raise ModerationError(f"a batch can {' or '.join(BATCH_ACTIONS)}, not {action!r}")
    _check_reason(reason)
    if not items:
        raise ModerationError("the batch is empty: no comment to act on")
    if len(items) > BATCH_MAX:
        raise ModerationError(
            f"a batch acts on at most {BATCH_MAX:,} comments, not {len(items):,}; "
            "narrow the band or the filters"
        )
    ordered = sorted({int(pk): int(version) for pk, version in items}.items())
    with transaction.atomic():
        job = BranchHideJob.objects.create(
            kind=BranchHideJob.Kind.BATCH, root=None, actor=actor, action=action,
            reason=reason if action != Action.APPROVE else "", note=note,
            total=len(ordered), items=[list(pair) for pair in ordered],
            description=description[:300],
        )
        inline = job.total <= settings.BRANCH_HIDE_SYNC_MAX
        if not inline:
            transaction.on_commit(partial(_branch_job_send, job.pk))
    if inline:
        return branch_job_run(job_id=job.pk)
    return job


def branch_job_undo_start(*, job: BranchHideJob | int, actor: AbstractBaseUser) -> BranchHideJob:
    """Undo a finished background branch hide: put back exactly the comments that job hid.

    Each comment as `comment_undo` would, with an `undo` decision, and only
    while it is still as the hide left it (a comment acted on since is
    skipped and counted). Only the moderator who hid the branch, only once
    the hide has finished (an undo of half a branch would leave the other
    half hidden by the worker afterwards). Returns the undo job: done already
    when the job hid no more than BRANCH_HIDE_SYNC_MAX comments (undone
    within this call), else queued for a worker. Asking twice returns the
    same undo job.
    """
    job_id = job.pk if isinstance(job, BranchHideJob) else job
    with transaction.atomic():
        source = BranchHideJob.objects.select_for_update().filter(pk=job_id).first()
        if source is None:
            raise ModerationError(f"branch job #{job_id} does not exist")
        if source.kind == BranchHideJob.Kind.UNDO:
            raise ModerationError(f"job #{source.pk} is itself an undo; it cannot be undone",
                                  comment_id=source.root_id)
        what = (f"the batch #{source.pk} ({source.description or source.action})"
                if source.is_batch else f"the branch hide of comment #{source.root_id}")
        if source.actor_id != actor.pk:
            who = ("started " + what + " can undo it" if source.is_batch else
                   f"hid the branch of comment #{source.root_id} can undo that job")
            raise ModerationError(
                f"only the moderator who {who}; restore the comments one by one instead",
                comment_id=source.root_id,
            )
        if not source.finished:
            raise ModerationError(
                f"{what} is still {source.state} "
                f"({source.done} of {source.total} done); undo it when it has finished",
                comment_id=source.root_id,
            )
        existing = BranchHideJob.objects.filter(undoes=source).first()
        if existing is not None:
            return existing
        undo = BranchHideJob.objects.create(
            kind=BranchHideJob.Kind.UNDO, undoes=source, root_id=source.root_id, actor=actor,
            reason=source.reason,
            note=f"undo of {'batch' if source.is_batch else 'branch hide'} job #{source.pk}",
            total=source.changed, description=source.description,
        )
        inline = undo.total <= settings.BRANCH_HIDE_SYNC_MAX
        if not inline:
            transaction.on_commit(partial(_branch_job_send, undo.pk))
    if inline:
        return branch_job_run(job_id=undo.pk)
    return undo


def branch_job_run(*, job_id: int, max_chunks: int | None = None) -> BranchHideJob:
    """Run or resume a branch job, chunk by chunk, until it is finished or `max_chunks` ran.

    Idempotent: each chunk starts after the job's `last_path` and writes its
    decisions and the job's progress in one transaction, so running a job
    again (a redelivered message, a duplicate from the sweep) continues where
    the last committed chunk ended and never writes a decision twice.
    """
    chunks = 0
    while True:
        job = _branch_job_chunk(job_id)
        chunks += 1
        if job.finished or (max_chunks is not None and chunks >= max_chunks):
            return job
        if connection.vendor == "sqlite":
            # SQLite has one write lock, and a writer waiting for it polls
            # (sleeping up to 100 ms between tries): a job that takes it again
            # the moment it commits would starve every moderator's action
            # until the whole branch is done. PostgreSQL queues lock waiters.
            time.sleep(SQLITE_CHUNK_PAUSE)


def branch_job_fail(*, job_id: int, error: str) -> None:
    """Mark a job failed (a bug or bad data, not a transient database error); it stops there.

    Its decisions so far stand and can be undone; the sweep leaves it alone.
    """
    BranchHideJob.objects.filter(pk=job_id).exclude(state=BranchHideJob.State.DONE).update(
        state=BranchHideJob.State.FAILED, error=error[:2000], finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


def branch_jobs_resume_stalled(*, stalled_after: timedelta = BRANCH_JOB_STALLED_AFTER) -> int:
    """Send again every queued or running job untouched for `stalled_after`; returns how many.

    Its worker died (and the message will not come back before the broker's
    visibility timeout) or its message was never sent. The job is touched
    first, so the next sweep waits as long again; a job that was only slow
    gets a duplicate message, which takes turns with the first run.
    """
    ids = list(branch_jobs_stalled(before=timezone.now() - stalled_after)
               .values_list("pk", flat=True))
    BranchHideJob.objects.filter(pk__in=ids).update(updated_at=timezone.now())
    sent = sum(_branch_job_send(job_id) for job_id in ids)
    if ids:
        logger.info("branch job sweep: sent %d of %d stalled job(s) again", sent, len(ids))
    return sent


def _branch_job_send(job_id: int) -> bool:
    from .tasks import branch_job_send

    return branch_job_send(job_id)


def _branch_job_chunk(job_id: int) -> BranchHideJob:
    logger.debug("branch job %d: next chunk", job_id)
    with transaction.atomic():
        # The job row first: two runs of one job take turns chunk by chunk,
        # each reading the progress the other committed.
        job = BranchHideJob.objects.select_for_update().get(pk=job_id)
        if job.finished:
            return job
        if job.kind == BranchHideJob.Kind.HIDE:
            walked, changed, last_path = _hide_chunk(job)
        elif job.kind == BranchHideJob.Kind.BATCH:
            walked, changed, last_path = _batch_chunk(job)
        elif job.root_id is None:
            walked, changed, last_path = _batch_undo_chunk(job)
        else:
            walked, changed, last_path = _undo_chunk(job)
        job.done += walked
        job.changed += changed
        job.last_path = last_path or job.last_path
        job.state = BranchHideJob.State.RUNNING
        if walked < BRANCH_JOB_CHUNK:
            job.state = BranchHideJob.State.DONE
            job.finished_at = timezone.now()
        # Not `items`: a batch's snapshot is written once, when the job starts.
        job.save(update_fields=["done", "changed", "last_path", "last_id", "state",
                                "finished_at", "updated_at"])
    return job


def _hide_chunk(job: BranchHideJob) -> tuple[int, int, str]:
    root = Comment.objects.only("pk", "thread_id", "path", "depth").get(pk=job.root_id)
    # Locked in path order, as comment_branch_hide locks, so the two cannot deadlock.
    nodes = list(
        comment_subtree(comment=root).filter(path__gt=job.last_path)
        .select_for_update(of=("self",))[:BRANCH_JOB_CHUNK]
    )
    decisions = _hide_nodes(nodes, actor=job.actor, reason=job.reason, note=job.note, job=job)
    return len(nodes), len(decisions), nodes[-1].path if nodes else ""


def _undo_chunk(job: BranchHideJob) -> tuple[int, int, str]:
    hides = list(
        Decision.objects.filter(branch_job_id=job.undoes_id, action=Action.HIDE,
                                comment__path__gt=job.last_path)
        .select_related("comment").order_by("comment__path")[:BRANCH_JOB_CHUNK]
    )
    locked = {
        comment.pk: comment
        for comment in Comment.objects.filter(pk__in=[d.comment_id for d in hides])
        .order_by("path").select_for_update()
    }
    # A comment acted on since the hide is left alone: that later decision stands.
    changed = sum(_undo_record(locked[hide.comment_id], hide, actor=job.actor, job=job)
                  is not None for hide in hides)
    return len(hides), changed, hides[-1].comment.path if hides else ""


def _batch_chunk(job: BranchHideJob) -> tuple[int, int, str]:
    """The next chunk of a batch's snapshot: act on each comment still at the version seen."""
    chunk = job.items[job.done: job.done + BRANCH_JOB_CHUNK]
    seen = {pk: version for pk, version in chunk}
    locked = Comment.objects.filter(pk__in=list(seen)).order_by("pk").select_for_update()
    changed = 0
    for comment in locked:
        to_state = TRANSITIONS[job.action].get(comment.state)
        if to_state is None or comment.version != seen[comment.pk]:
            continue  # changed since the moderator counted the batch: that stands
        _record(comment, action=job.action, to_state=to_state, actor=job.actor,
                reason=job.reason, note=job.note, ml=None, job=job)
        changed += 1
    return len(chunk), changed, ""


def _batch_undo_chunk(job: BranchHideJob) -> tuple[int, int, str]:
    """The next chunk of a batch's undo, in decision order (after `last_id`)."""
    decisions = list(
        Decision.objects.filter(branch_job_id=job.undoes_id, pk__gt=job.last_id)
        .order_by("pk")[:BRANCH_JOB_CHUNK]
    )
    locked = {
        comment.pk: comment
        for comment in Comment.objects.filter(pk__in=[d.comment_id for d in decisions])
        .order_by("pk").select_for_update()
    }
    # A comment acted on since the batch is left alone: that later decision stands.
    changed = sum(_undo_record(locked[decision.comment_id], decision, actor=job.actor, job=job)
                  is not None for decision in decisions)
    if decisions:
        job.last_id = decisions[-1].pk
    return len(decisions), changed, ""


def _hide_nodes(nodes: list[Comment], *, actor: AbstractBaseUser | None, reason: str, note: str,
                job: BranchHideJob | None) -> list[Decision]:
    """Hide these locked comments, skipping those hidden already (and, for the system,
    those a human decided on)."""
    decisions = []
    for node in nodes:
        to_state = TRANSITIONS[Action.HIDE].get(node.state)
        if to_state is None or (actor is None and _human_decided(node)):
            continue
        decisions.append(_record(node, action=Action.HIDE, to_state=to_state, actor=actor,
                                 reason=reason, note=note, ml=None, job=job))
    return decisions


def comments_bulk_action_apply(
    *,
    comment_ids: Iterable[int],
    action: str,
    actor: AbstractBaseUser | None,
    reason: str = "",
    note: str = "",
    expected_versions: dict[int, int] | None = None,
    reasons: dict[int, str] | None = None,
) -> BulkResult:
    """Any moderator action on any number of comments (HIDE_BRANCH included).

    Each comment in its own transaction: one stale or illegal comment does
    not stop the others; the result lists each refusal with its reason. A
    branch of more than BRANCH_HIDE_SYNC_MAX comments becomes a background
    job (in `BulkResult.jobs`, its clicked comment hidden already).
    `reasons`: a reason per comment (what each card showed), else `reason`.
    """
    result = BulkResult()
    for comment_id in comment_ids:
        expected = (expected_versions or {}).get(comment_id)
        reason_of = (reasons or {}).get(comment_id) or reason
        try:
            if action == RESTORE_BRANCH:
                result.decisions.extend(comment_branch_restore(
                    comment=comment_id, actor=actor, note=note, expected_version=expected))
                continue
            if action == HIDE_BRANCH:
                branch = {"comment": comment_id, "actor": actor, "reason": reason_of,
                          "note": note, "expected_version": expected}
                if _branch_larger_than(comment_id, settings.BRANCH_HIDE_SYNC_MAX):
                    result.jobs.append(branch_hide_job_start(**branch))
                else:
                    result.decisions.extend(comment_branch_hide(**branch))
                continue
            decision = comment_action_apply(comment=comment_id, action=action, actor=actor,
                                            reason=reason_of, note=note,
                                            expected_version=expected)
        except Comment.DoesNotExist:
            result.refused.append(
                ModerationError(f"comment #{comment_id} does not exist", comment_id=comment_id)
            )
            continue
        except ModerationError as exc:
            result.refused.append(exc)
            continue
        if decision is not None:
            result.decisions.append(decision)
    return result


def _sync(comment: Comment | int, locked: Comment) -> None:
    """Let the caller's instance show what was just written, not the stale row."""
    if isinstance(comment, Comment) and comment is not locked:
        for name in ("state", "version", "needs_review", "updated_at"):
            setattr(comment, name, getattr(locked, name))


def _branch_larger_than(comment_id: int, limit: int) -> bool:
    """Whether the branch has more than `limit` comments (counts no further than that)."""
    root = Comment.objects.only("pk", "thread_id", "path", "depth").get(pk=comment_id)
    return comment_subtree(comment=root)[: limit + 1].count() > limit


def _pk(comment: Comment | int) -> int:
    return comment.pk if isinstance(comment, Comment) else comment


def _lock(comment: Comment | int) -> Comment:
    return Comment.objects.select_for_update().get(pk=_pk(comment))


def _check_reason(reason: str) -> None:
    if reason and reason not in ReasonCode.values:
        raise ModerationError(
            f"unknown reason {reason!r}; use one of: {', '.join(ReasonCode.values)}"
        )


def _check_version(comment: Comment, expected_version: int | None) -> None:
    if expected_version is None or expected_version == comment.version:
        return
    last = (
        Decision.objects.filter(comment=comment).select_related("actor")
        .order_by("-created_at", "-id").first()
    )
    raise StaleDecision(comment, expected_version, last)


def _human_decided(comment: Comment) -> bool:
    return Decision.objects.filter(
        comment=comment, actor__isnull=False, content_hash=comment.content_hash
    ).exists()


def _current_ml(comment: Comment) -> MlContext:
    score = (
        ToxicityScore.objects.filter(comment=comment, content_hash=comment.content_hash)
        .order_by("-scored_at").first()
    )
    if score is None:
        return MlContext()
    return MlContext(top_label=score.top_label, top_score=score.top_score,
                     model_key=score.model_key)


def _record(
    comment: Comment,
    *,
    action: str,
    to_state: str,
    actor: AbstractBaseUser | None,
    reason: str,
    note: str,
    ml: MlContext | None,
    extra_fields: list[str] | None = None,
    job: BranchHideJob | None = None,
) -> Decision:
    """Change the locked comment's state, bump its version, write the Decision and its event."""
    ml = ml or _current_ml(comment)
    from_state = comment.state
    seen_version = comment.version
    comment.state = to_state
    comment.version += 1
    comment.save(update_fields=["state", "version", "updated_at", *(extra_fields or [])])
    decision = Decision.objects.create(
        comment=comment,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        note=note,
        comment_version=seen_version,
        content_hash=comment.content_hash,
        top_label=ml.top_label,
        top_score=ml.top_score,
        model_key=ml.model_key,
        threshold=ml.threshold,
        branch_job=job,
    )
    # The outbox row, in this same transaction: the feed and webhooks carry it.
    decision_event_record(comment=comment, decision=decision)
    return decision


# --- API (issue 15): the author deleted the comment on the site ------------------------


def _check_not_author_deleted(comment: Comment, action: str) -> None:
    if comment.source_state == AUTHOR_DELETED and action in SHOWING_ACTIONS:
        raise ModerationError(
            f"cannot {action} comment #{comment.pk}: its author deleted it",
            comment_id=comment.pk,
        )


def comment_author_delete(*, comment: Comment | int, note: str = "") -> Decision | None:
    """The comment's author deleted it on the site: hide it for good, out of the queue.

    A system decision (`author_delete`) records it; approve and restore are
    refused from then on (`_check_not_author_deleted`), so no moderator puts
    it back up against its author's wish. Deleting twice changes nothing
    (returns None).
    """
    with transaction.atomic():
        locked = _lock(comment)
        if locked.source_state == AUTHOR_DELETED:
            return None
        locked.source_state = AUTHOR_DELETED
        locked.needs_review = False
        decision = _record(locked, action=Action.AUTHOR_DELETE, to_state=State.HIDDEN,
                           actor=None, reason="", note=note, ml=None,
                           extra_fields=["source_state", "needs_review"])
    _sync(comment, locked)
    return decision
