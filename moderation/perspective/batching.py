"""One loaded model serving many concurrent requests: requests that arrive together are scored
in one call.

A web process (gunicorn's gthread worker) answers many requests at once on
threads; each analyze request hands its text to `batch_score` and waits.
One scoring thread per process takes the first waiting request, lets others
join it for PERSPECTIVE_BATCH_WAIT_MS (or until PERSPECTIVE_BATCH_MAX texts),
and scores them all in one call to the scorer, so twenty clients cost about
one padded batch instead of twenty model calls fighting for the same cores.
Only that thread ever runs the model.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

from moderation.scoring.base import Scorer

logger = logging.getLogger(__name__)

# A request waits at most this long for its batch (a wedged model answers 503, not never).
RESULT_TIMEOUT_SECONDS = 30.0


class BatchTimeout(RuntimeError):
    """The scoring thread did not answer in time."""


@dataclass
class _Job:
    scorer: Scorer
    texts: list[str]
    done: threading.Event = field(default_factory=threading.Event)
    result: list[dict[str, float]] | None = None
    error: BaseException | None = None


class _Batcher:
    def __init__(self) -> None:
        self.jobs: queue.Queue[_Job] = queue.Queue()
        self.pid = os.getpid()
        self.thread = threading.Thread(target=self._run, name="perspective-batcher", daemon=True)
        self.thread.start()
        self.batches = 0

    def _collect(self, first: _Job) -> list[_Job]:
        jobs = [first]
        size = len(first.texts)
        deadline = time.monotonic() + settings.PERSPECTIVE_BATCH_WAIT_MS / 1000
        while size < settings.PERSPECTIVE_BATCH_MAX:
            remaining = deadline - time.monotonic()
            try:
                job = self.jobs.get(timeout=remaining) if remaining > 0 else \
                    self.jobs.get_nowait()
            except queue.Empty:
                break
            jobs.append(job)
            size += len(job.texts)
        return jobs

    def _run(self) -> None:
        while True:
            jobs = self._collect(self.jobs.get())
            by_scorer: dict[int, list[_Job]] = {}
            for job in jobs:
                by_scorer.setdefault(id(job.scorer), []).append(job)
            for group in by_scorer.values():
                texts = [text for job in group for text in job.texts]
                try:
                    scores = group[0].scorer.score(texts)
                except BaseException as exc:  # handed to every waiting request
                    for job in group:
                        job.error = exc
                        job.done.set()
                    continue
                self.batches += 1
                start = 0
                for job in group:
                    job.result = scores[start:start + len(job.texts)]
                    start += len(job.texts)
                    job.done.set()


_lock = threading.Lock()
_batcher: _Batcher | None = None


def _get() -> _Batcher:
    global _batcher
    with _lock:
        # A forked child (gunicorn's workers) has no copy of the thread: start its own.
        if _batcher is None or _batcher.pid != os.getpid():
            _batcher = _Batcher()
        return _batcher


def batch_score(scorer: Scorer, texts: Sequence[str]) -> list[dict[str, float]]:
    """Score `texts` with `scorer`, batched with whatever other requests are waiting."""
    if not texts:
        return []
    job = _Job(scorer, list(texts))
    _get().jobs.put(job)
    if not job.done.wait(RESULT_TIMEOUT_SECONDS):
        raise BatchTimeout(f"the scoring thread did not answer within {RESULT_TIMEOUT_SECONDS:g} s")
    if job.error is not None:
        raise job.error
    assert job.result is not None
    return job.result


def batches_run() -> int:
    """How many model calls this process's scoring thread made (tests, benchmarks)."""
    return _batcher.batches if _batcher is not None else 0
