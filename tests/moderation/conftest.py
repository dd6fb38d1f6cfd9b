"""Scoring fixtures: a tiny detoxify checkpoint (real loading code, offline) and
a deterministic scorer whose scores are written into the comment text."""


from __future__ import annotations

import re
from collections.abc import Sequence

import pytest

from moderation.scoring.registry import reset_active_scorer
from moderation.scoring.testing import build_detoxify_checkpoint
from tests.factories import CommentFactory, ModeratorFactory, StaffFactory


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """(checkpoint, hf_config_dir) of a 2-layer BERT in detoxify's format."""
    return build_detoxify_checkpoint(tmp_path_factory.mktemp("tiny-detoxify"))


@pytest.fixture
def use_tiny_detoxify(settings, tiny_model):
    checkpoint, hf_dir = tiny_model
    settings.SCORER = "detoxify"
    settings.DETOXIFY_CHECKPOINT = str(checkpoint)
    settings.DETOXIFY_HF_CONFIG = str(hf_dir)
    settings.SCORING_PRECISION = "fp32"
    reset_active_scorer()
    yield tiny_model
    reset_active_scorer()


class MarkerScorer:
    """Reads its scores from markers in the text, e.g. "rude [threat=0.8]".

    A real Scorer (the protocol is all the pipeline sees) whose output a test
    controls exactly; labels without a marker score 0.01.
    """

    is_fallback = False
    labels = ("toxicity", "threat", "insult")
    MARKER = re.compile(r"\[(\w+)=([0-9.]+)\]")

    def __init__(self, key: str = "marker:test:1") -> None:
        self.key = key
        self.calls: list[list[str]] = []

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        self.calls.append(list(texts))
        results = []
        for text in texts:
            scores = dict.fromkeys(self.labels, 0.01)
            for label, value in self.MARKER.findall(text):
                scores[label] = float(value)
            results.append(scores)
        return results


@pytest.fixture
def marker_scorer():
    return MarkerScorer()


@pytest.fixture
def make_thread(import_json):
    """Import one thread of comments with these bodies; returns their Comment rows."""
    from threads.models import Comment

    counter = {"n": 0}

    def make(bodies, external_id=None):
        counter["n"] += 1
        external_id = external_id or f"t{counter['n']}"
        document = {"threads": [{
            "external_id": external_id, "title": f"Thread {external_id}",
            "comments": [{"external_id": f"c{i}", "body": body} for i, body in enumerate(bodies)],
        }]}
        import_json(document, name=f"{external_id}.json")
        return list(Comment.objects.filter(thread__external_id=external_id).order_by("pk"))

    return make


def point_celery_app(broker: str, queue: str | None = None) -> None:
    """Send this process's task messages to `broker` (and `queue`) from now on."""
    import kombu.pools

    from config.celery import app

    app.conf.broker_url = broker
    if queue is not None:
        app.conf.task_default_queue = queue
    app.__dict__.pop("amqp", None)  # rebuilt (with the new default queue) on next use
    app._pool = None
    kombu.pools.reset()  # producer pools are cached per connection, process-wide



@pytest.fixture
def comment(db):
    return CommentFactory()


@pytest.fixture
def moderator(db):
    return ModeratorFactory()


@pytest.fixture
def staff(db):
    """Signed-in staff who can view comments in admin but may not moderate."""
    from django.contrib.auth.models import Permission

    user = StaffFactory()
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_comment", "view_thread", "view_decision"])
    )
    return user
