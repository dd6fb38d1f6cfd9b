"""Helpers for the dashboard tests: moderators, and scored comments.

Scores are written directly (ToxicityScore rows plus the denormalised
comment.toxicity / needs_review the scoring policy maintains), so these tests
do not depend on a model being installed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from moderation.models import ToxicityScore
from tests.factories import TEST_PASSWORD, ModeratorFactory
from threads.models import Comment, Thread
from threads.services import threads_import_from_file

MODEL_KEY = "detoxify:original:test0001"
LABELS = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")
# Moderators are tests/factories.py's ModeratorFactory (staff, in the Moderators
# group, exactly as create_moderator makes one), signing in with TEST_PASSWORD.
PASSWORD = TEST_PASSWORD
XSS_BODY = "<script>alert(1)</script><img src=x onerror=alert(1)>"


def score_comment(comment: Comment, top: float, label: str = "toxicity", *,
                  threshold: float = 0.5, model_key: str = MODEL_KEY) -> ToxicityScore:
    """Attach a score whose `label` is `top` and the other labels are lower."""
    scores = {name: round(top * (0.9 - 0.1 * i), 4) for i, name in enumerate(LABELS)}
    scores[label] = top
    record = ToxicityScore.objects.create(
        comment=comment, model_key=model_key, content_hash=comment.content_hash,
        scores=scores, top_label=label, top_score=top,
    )
    comment.toxicity = top
    comment.toxicity_label = label
    comment.needs_review = top >= threshold
    comment.save(update_fields=["toxicity", "toxicity_label", "needs_review"])
    return record


def thread_document(external_id: str, bodies: list[str], *, nested: bool = False,
                    title: str = "") -> dict:
    """A native JSON thread: flat replies to the first comment, or a chain when nested."""
    start = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    comments = []
    for i, body in enumerate(bodies):
        parent = None
        if i > 0:
            parent = f"{external_id}-{i - 1}" if nested else f"{external_id}-0"
        comments.append({
            "external_id": f"{external_id}-{i}",
            "parent_id": parent,
            "author": f"author{i % 7}",
            "body": body,
            "created_at": (start + timedelta(minutes=i)).isoformat(),
        })
    return {
        "external_id": external_id,
        "title": title or f"Article {external_id}",
        "url": f"https://news.example/{external_id}",
        "comments": comments,
    }


def import_threads(tmp_path: Path, threads: list[dict], name: str = "seed.json") -> None:
    path = tmp_path / name
    path.write_text(json.dumps({"threads": threads}), encoding="utf-8")
    threads_import_from_file(path=path)


@pytest.fixture
def moderator(db):
    return ModeratorFactory(username="mod")


@pytest.fixture
def moderator_client(client, moderator):
    client.force_login(moderator)
    return client


@pytest.fixture
def scored_thread(db, tmp_path):
    """One thread of 8 comments with scores 0.95, 0.85, ... (6 over the threshold)."""
    import_threads(tmp_path, [thread_document("t1", [f"comment number {i}" for i in range(8)])])
    thread = Thread.objects.get(external_id="t1")
    comments = list(Comment.objects.filter(thread=thread).order_by("path"))
    for i, comment in enumerate(comments):
        score_comment(comment, round(0.95 - 0.1 * i, 2), label="insult" if i % 2 else "toxicity")
    return thread
