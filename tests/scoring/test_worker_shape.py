"""A real worker started without `-c` picks its children for the model it scores with.

The embedded model runs one torch thread, so one child per core scores
twice what one child does on two cores (docs/benchmarks.md, "Embedded
model"); detoxify runs best as one child whose torch uses every core.
"""

from __future__ import annotations

import os
import uuid

import pytest
from django.conf import settings

from tests.helpers import CeleryWorker, child_database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _banner_children(tmp_path, **env: str) -> str:
    queue = f"tk-shape-{uuid.uuid4().hex[:10]}"
    worker_env = {
        **os.environ, "SECRET_KEY": "test-worker", "DEBUG": "0",
        "DATABASE_URL": child_database_url(), "CELERY_BROKER_URL": "redis://127.0.0.1:6379/2",
        "CELERY_TASK_DEFAULT_QUEUE": queue, "SCORING_AUTO_ENQUEUE": "0", "LOG_LEVEL": "INFO",
        "CELERY_WORKER_CONCURRENCY": "", **env,
    }
    worker = CeleryWorker(queue, worker_env, tmp_path / f"{queue}.log", children=None)
    worker.start()
    try:
        worker.wait_for_log("ready.")
        banner = worker.log.read_text(errors="replace")
    finally:
        worker.stop()
    (line,) = [line for line in banner.splitlines() if "concurrency:" in line]
    return line.split("concurrency:", 1)[1].strip()


def test_embedded_model_gets_a_child_per_core(tmp_path):
    cores = settings.CPU_CORES
    assert _banner_children(tmp_path, SCORER="auto", DETOXIFY_CHECKPOINT="") == (
        f"{cores} (prefork)")


def test_detoxify_gets_one_child_with_every_core(tmp_path, tiny_model):
    checkpoint, hf_dir = tiny_model
    assert _banner_children(
        tmp_path, SCORER="detoxify", DETOXIFY_CHECKPOINT=str(checkpoint),
        DETOXIFY_HF_CONFIG=str(hf_dir), HF_HUB_OFFLINE="1",
    ) == "1 (prefork)"


def test_the_setting_overrides_the_pick(tmp_path):
    assert _banner_children(tmp_path, SCORER="auto", DETOXIFY_CHECKPOINT="",
                            CELERY_WORKER_CONCURRENCY="3") == "3 (prefork)"
