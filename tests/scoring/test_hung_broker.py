"""A broker that accepts connections and never answers (tests.helpers.SilentServer).

Every wait on it is bounded by CELERY_BROKER_TIMEOUT: an import costs that at
most, once, with one warning, keeps its comments and leaves them for the sweep.
(The admin's re-score action against it: tests/decisions/test_admin.py.)
"""

from __future__ import annotations

import io
import json
import logging
import time

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from moderation.scoring.pipeline import comments_needing_scoring, scoring_publish_batches
from moderation.scoring.registry import scorer_choice
from tests.helpers import returns_within, thread_document
from threads.models import Comment

pytestmark = pytest.mark.django_db

# Generous against a loaded machine, far under "forever".
GUARD_SECONDS = 15


def test_import_threads_with_a_hung_broker_returns_with_one_warning(
    tmp_path, settings, hung_broker, caplog, django_capture_on_commit_callbacks
):
    settings.SCORING_AUTO_ENQUEUE = True
    settings.SCORER = "fallback"
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"threads": [
        thread_document(f"hung-{n}", [f"comment {i} in {n}" for i in range(5)])
        for n in range(4)
    ]}), encoding="utf-8")
    started = time.monotonic()
    with returns_within(GUARD_SECONDS), caplog.at_level(logging.WARNING), \
            django_capture_on_commit_callbacks(execute=True):
        call_command("import_threads", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    elapsed = time.monotonic() - started
    assert Comment.objects.count() == 20  # stored
    assert caplog.text.count("could not enqueue") == 1
    assert "could not enqueue scoring of 20 comment(s)" in caplog.text
    assert hung_broker.connections == 1  # one wait, not one per batch or retry
    assert elapsed < django_settings.BROKER_TIMEOUT + 5
    unscored = comments_needing_scoring(model_key=scorer_choice().key)
    assert unscored.count() == 20  # what sweep_unscored_task enqueues later


def test_every_publish_to_a_hung_broker_gives_up_after_the_timeout(hung_broker):
    started = time.monotonic()
    with returns_within(GUARD_SECONDS):
        assert scoring_publish_batches([1, 2, 3], batch_size=1) == 0
    assert time.monotonic() - started < django_settings.BROKER_TIMEOUT + 5
