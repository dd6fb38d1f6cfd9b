"""What the API says about a comment, a decision, a score, a thread, a branch job: plain dicts.

One shape per object, used by every route (and the events that carry them).
"""

from __future__ import annotations

from typing import Any

from moderation.decisions.states import AUTHOR_DELETED, is_visible
from moderation.models import BranchHideJob, Decision, ToxicityScore
from threads.models import Comment, Thread


def _time(value) -> str | None:
    return value.isoformat() if value else None


def comment_json(comment: Comment, *, premoderated: bool, body: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": comment.pk,
        "external_id": comment.external_id,
        "thread": comment.thread_id,
        "parent": comment.parent_id,
        "depth": comment.depth,
        "author_name": comment.author_name,
        "created_at": _time(comment.created_at),
        "state": comment.state,
        "version": comment.version,
        "visible": is_visible(comment.state, premoderated=premoderated),
        "deleted_by_author": comment.source_state == AUTHOR_DELETED,
        "needs_review": comment.needs_review,
        "toxicity": comment.toxicity,
        "toxicity_label": comment.toxicity_label or None,
    }
    if body:
        out["body"] = comment.body
    return out


def decision_json(decision: Decision) -> dict[str, Any]:
    return {
        "id": decision.pk,
        "comment": decision.comment_id,
        "action": decision.action,
        "from_state": decision.from_state,
        "to_state": decision.to_state,
        "actor": decision.actor.get_username() if decision.actor_id else None,
        "reason": decision.reason,
        "note": decision.note,
        "comment_version": decision.comment_version,
        "model_key": decision.model_key or None,
        "top_label": decision.top_label or None,
        "top_score": decision.top_score,
        "created_at": _time(decision.created_at),
    }


def score_json(score: ToxicityScore, *, current_hash: str) -> dict[str, Any]:
    return {
        "model_key": score.model_key,
        "scores": score.scores,
        "top_label": score.top_label,
        "top_score": score.top_score,
        # False: scored on an earlier text of the comment (a re-score is on its way).
        "current": score.content_hash == current_hash,
        "scored_at": _time(score.scored_at),
    }


def thread_json(thread: Thread, *, premoderated: bool) -> dict[str, Any]:
    return {
        "id": thread.pk,
        "source": thread.source,
        "external_id": thread.external_id,
        "title": thread.title,
        "url": thread.url,
        "published_at": _time(thread.published_at),
        "moderation": "pre" if premoderated else "post",
    }


def job_json(job: BranchHideJob, *, url: str) -> dict[str, Any]:
    return {
        "id": job.pk,
        "kind": job.kind,
        "comment": job.root_id,
        "state": job.state,
        "total": job.total,
        "done": job.done,
        "changed": job.changed,
        "error": job.error,
        "created_at": _time(job.created_at),
        "finished_at": _time(job.finished_at),
        "url": url,
    }
