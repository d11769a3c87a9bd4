"""Long work started from the dashboard (a sweep, an appraisal, a publication) runs in the background, one
job at a time, while the page polls `/jobs/{id}` for its state and summary.

One worker thread runs every job, so that only one thread ever talks to Prefect (two threads making their
first flow call at once could start two temporary servers) and flows never compete for the database's
write lock. Each job runs in a copy of the context the runner was made in (Prefect's settings are context
variables) and inside `local_flow_runs()`, as the CLI runs flows.
"""

from __future__ import annotations

import contextvars
import logging
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from cchc.flows.runtime import local_flow_runs

log = logging.getLogger("cchc.dashboard")
KEEP = 200  # finished jobs remembered


@dataclass
class Job:
    id: str
    kind: str  # sweep | appraise | publish
    label: str  # what it does, in Vietnamese
    owner: str  # who started it (a person code)
    status: str = "queued"  # queued | running | done | failed
    summary: str = ""
    error: str = ""
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


class JobRunner:
    """Runs jobs one at a time in a worker thread and remembers the last few."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        describe_error: Callable[[BaseException], str],
        *,
        flow_context: Callable[[], AbstractContextManager[None]] = local_flow_runs,
    ) -> None:
        self._clock = clock
        self._describe = describe_error
        self._flow_context = flow_context
        self._context = contextvars.copy_context()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cchc-job")
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()

    def submit(self, kind: str, label: str, owner: str, work: Callable[[], str]) -> Job:
        """Queue `work` (which returns the summary to show); its failure becomes the job's error message."""
        job = Job(secrets.token_urlsafe(9), kind, label, owner, created_at=self._clock())
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP:
                oldest = next(iter(self._jobs.values()))
                if not oldest.finished:
                    break
                self._jobs.popitem(last=False)
        context = self._context.copy()
        self._pool.submit(context.run, self._run, job, work)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _run(self, job: Job, work: Callable[[], str]) -> None:
        job.started_at, job.status = self._clock(), "running"
        try:
            with self._flow_context():
                summary = work()
        except Exception as exc:  # noqa: BLE001 - the edge: every failure becomes the job's message
            job.error, job.status = self._describe(exc), "failed"
        else:
            job.summary, job.status = summary, "done"
        job.finished_at = self._clock()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
