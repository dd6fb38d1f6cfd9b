"""Celery tasks for background branch jobs: thin wrappers over the decision services.

A job's progress lives in its `BranchHideJob` row, not in the message: any
message for a job (the first, a redelivery after a worker died, a duplicate
from the sweep) continues it from its last committed chunk.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError, InterfaceError, OperationalError

logger = logging.getLogger(__name__)

# Database hiccups (a restart, "database is locked", a dropped connection) are
# transient; every task here and in scoring is safe to run again, so they retry.
TRANSIENT_DATABASE_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
}

# Fail fast when the broker is down: the sweep is the retry.
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def branch_job_send(job_id: int) -> bool:
    """Send a task message for this job; False (with one warning) if the broker refused it."""
    try:
        run_branch_job_task.apply_async(args=(job_id,), retry=True, retry_policy=PUBLISH_RETRY)
    except Exception as exc:  # kombu raises several types for "broker down"
        logger.warning("could not enqueue branch job %d (broker %s unreachable: %s); the "
                       "periodic sweep will send it", job_id,
                       run_branch_job_task.app.conf.broker_url, exc)
        return False
    return True


# A chunk rolls back whole, so running the job again is always safe.
@shared_task(acks_late=True, ignore_result=True, **TRANSIENT_DATABASE_RETRY)
def run_branch_job_task(job_id: int) -> None:
    """Run a branch job for a while; send the rest as a new message if it is not finished."""
    from moderation.models import BranchHideJob

    from .services import BRANCH_JOB_CHUNKS_PER_RUN, branch_job_fail, branch_job_run

    try:
        job = branch_job_run(job_id=job_id, max_chunks=BRANCH_JOB_CHUNKS_PER_RUN)
    except BranchHideJob.DoesNotExist:
        logger.info("branch job %d no longer exists (its comment was deleted)", job_id)
        return
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        branch_job_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}")
        raise
    logger.info("branch job %d: %s, %d of %d walked, %d changed", job.pk, job.state, job.done,
                job.total, job.changed)
    if not job.finished:
        branch_job_send(job.pk)


@shared_task(ignore_result=True, autoretry_for=(DatabaseError,), retry_backoff=True,
             max_retries=3)
def resume_stalled_branch_jobs_task() -> int:
    """Send again the branch jobs whose worker died or whose message was lost."""
    from .services import branch_jobs_resume_stalled

    return branch_jobs_resume_stalled()
