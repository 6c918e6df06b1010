"""Background jobs that outlive their worker: attempts, leases and recovery.

A job is a row of a concrete subclass of `Job` (e.g. `imports.BulkUpload`) plus a
`django.tasks` task that runs it. The row, not the task queue, is the truth:

- `enqueue(job)` queues the job's task (`Job.enqueue_task`) and makes sure the
  periodic recovery task is scheduled.
- `claim(Model, pk, task_id=...)` turns a queued job into a running one and gives the
  worker a `Lease`: `lease_expires_at` is now + `KYC_JOB_LEASE_SECONDS`.
- `heartbeat(lease)` renews the lease from a thread with its own database connection
  every third of the lease, as long as the job runs. On SQLite a transaction holds the
  database's only write lock, so the heartbeat waits while the job writes; nobody else
  can write then either, so nobody can take the job over meanwhile.
- `Lease.finish(...)`/`Lease.fail(...)` end the job, fenced by the attempt number: a
  worker whose job was taken over changes nothing.
- `recover()` finds running jobs whose lease expired (their worker is gone: killed,
  out of memory, host lost), marks the task of the dead worker failed, and re-queues
  the job (`attempt` + 1, message "Restarted after the worker stopped (attempt 2 of
  3)") with a fresh task; after `KYC_JOB_MAX_ATTEMPTS` attempts the job fails with a
  message instead. It runs as the task `recover_jobs`, which the worker runs one lease
  after a job is queued and which reschedules itself while any job is unfinished; and
  `recover_expired(job)` runs it for one job when someone looks at that job's status.

A new kind of job: subclass `Job`, implement `enqueue_task`, call `enqueue` after
saving the row, and in its task `claim` + `heartbeat` + `finish`/`fail`.
"""

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connections, models, transaction
from django.tasks import TaskResult, task
from django.utils import timezone

logger = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 60
DEFAULT_MAX_ATTEMPTS = 3


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class LeaseLost(Exception):
    """The job was taken over (its lease expired and it was re-queued or failed):
    this worker must not write its outcome."""


class Job(models.Model):
    """The state every background job shares. Subclasses add their own fields."""

    status = models.CharField(max_length=10, choices=JobStatus, default=JobStatus.QUEUED)
    message = models.TextField(blank=True, help_text="Why the job failed.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempt = models.PositiveSmallIntegerField(
        default=1, help_text="1 for the first run; + 1 each time the job is restarted."
    )
    lease_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="While running: the worker renews this; once past, the worker is gone.",
    )
    task_id = models.CharField(
        max_length=64, blank=True, editable=False, help_text="The task running this attempt."
    )

    # Fields set when the job is restarted (e.g. progress counters back to zero).
    restart_fields: ClassVar[dict[str, Any]] = {}

    class Meta:
        abstract = True

    def enqueue_task(self) -> TaskResult:
        """Queue the task that runs this job (it calls `claim` with this row's pk)."""
        raise NotImplementedError

    def failed_message(self, reason: str) -> str:
        """The message of this job when recovery gives it up for `reason` (a job that
        keeps part of its work says which part here)."""
        return reason

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.COMPLETED, JobStatus.FAILED)


def lease_seconds() -> int:
    return int(getattr(settings, "KYC_JOB_LEASE_SECONDS", DEFAULT_LEASE_SECONDS))


def max_attempts() -> int:
    return int(getattr(settings, "KYC_JOB_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))


def restart_message(attempt: int) -> str:
    return f"Restarted after the worker stopped (attempt {attempt} of {max_attempts()})"


def gave_up_message(attempts: int) -> str:
    return f"Failed: the worker stopped during each of its {attempts} attempts"


@dataclass
class Lease:
    """A worker's hold on one attempt of one job."""

    model: type[Job]
    pk: int
    attempt: int
    lost: bool = field(default=False)

    def _mine(self) -> Any:
        return self.model._default_manager.filter(
            pk=self.pk, status=JobStatus.RUNNING, attempt=self.attempt
        )

    def renew(self) -> bool:
        """Push the expiry one lease ahead; False once the job is no longer ours."""
        expires = timezone.now() + timedelta(seconds=lease_seconds())
        return bool(self._mine().update(lease_expires_at=expires))

    def check(self) -> None:
        """Raise LeaseLost unless the job is still this attempt's. Inside a transaction
        on PostgreSQL this also locks the job row until the transaction ends, so that
        recovery cannot take the job over while its outcome is being written."""
        mine = self._mine()
        if transaction.get_connection().in_atomic_block:
            mine = mine.select_for_update()
        if not list(mine.values_list("pk", flat=True)):
            self.lost = True
            raise LeaseLost(f"{self.model.__name__} {self.pk} attempt {self.attempt}")

    def finish(self, **fields: Any) -> bool:
        """Write the job's outcome (status included) if the job is still ours."""
        return bool(self._mine().update(lease_expires_at=None, **fields))

    def release(self) -> None:
        """Drop the lease of a job that ended (its outcome written by other means)."""
        self.model._default_manager.filter(pk=self.pk, attempt=self.attempt).update(
            lease_expires_at=None
        )

    def fail(self, message: str) -> bool:
        return self.finish(status=JobStatus.FAILED, message=message, finished_at=timezone.now())


def job_models() -> list[type[Job]]:
    return [model for model in apps.get_models() if issubclass(model, Job)]


def enqueue(job: Job) -> None:
    """Queue a saved job's task, and recovery one lease later."""
    job.enqueue_task()
    schedule_recovery()


def claim(model: type[Job], pk: int, *, task_id: str = "") -> Lease | None:
    """Take a queued job; None when it is not queued (another worker has it, it ran
    already, or it was given up)."""
    now = timezone.now()
    claimed = model._default_manager.filter(pk=pk, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        started_at=now,
        lease_expires_at=now + timedelta(seconds=lease_seconds()),
        task_id=task_id[:64],
    )
    if not claimed:
        return None
    attempt = model._default_manager.filter(pk=pk).values_list("attempt", flat=True).get()
    # A worker that dies before any other job is queued still leaves recovery behind.
    schedule_recovery()
    return Lease(model=model, pk=pk, attempt=attempt)


@contextmanager
def heartbeat(lease: Lease) -> Iterator[Lease]:
    """Renew the lease every third of its length until the block ends."""
    stop = threading.Event()
    interval = max(lease_seconds() / 3, 0.1)

    def beat() -> None:
        try:
            while not stop.wait(interval):
                try:
                    if not lease.renew():  # finished, or taken over: Lease.check says
                        lease.lost = not stop.is_set()
                        logger.info("Lease of %s %s no longer held", lease.model.__name__, lease.pk)
                        return
                except Exception:  # e.g. SQLite busy past its timeout: try again
                    logger.warning("Lease not renewed; trying again", exc_info=True)
        finally:
            connections.close_all()  # this thread's connections only

    thread = threading.Thread(target=beat, name=f"lease-{lease.pk}", daemon=True)
    thread.start()
    try:
        yield lease
    finally:
        stop.set()
        thread.join()


def _expired(now: datetime) -> models.Q:
    """Running with a lease past its expiry; or with no lease at all (started before
    leases existed) for longer than a lease."""
    return models.Q(status=JobStatus.RUNNING) & (
        models.Q(lease_expires_at__lt=now)
        | models.Q(
            lease_expires_at__isnull=True,
            started_at__lt=now - timedelta(seconds=lease_seconds()),
        )
    )


def recover(*, now: datetime | None = None) -> int:
    """Re-queue or fail every running job whose lease expired; the number handled."""
    now = now or timezone.now()
    handled = 0
    for model in job_models():
        expired = model._default_manager.filter(_expired(now)).values_list("pk", flat=True)
        for pk in list(expired):
            handled += _recover_one(model, pk, now=now)
    _abandon_dead_recovery_tasks(now)
    return handled


def recover_expired[J: Job](job: J) -> J:
    """The job as it stands, after recovery if its lease expired (for status pages:
    a dead worker's job never shows as running to the person waiting for it)."""
    now = timezone.now()
    expires = job.lease_expires_at or (
        job.started_at and job.started_at + timedelta(seconds=lease_seconds())
    )
    if job.status == JobStatus.RUNNING and expires and expires < now:
        try:
            if _recover_one(type(job), job.pk, now=now):
                job.refresh_from_db()
        except DatabaseError:  # e.g. SQLite locked by a writer: recovery will run later
            logger.warning("Recovery of %s %s deferred", type(job).__name__, job.pk, exc_info=True)
    return job


def _recover_one(model: type[Job], pk: int, *, now: datetime) -> int:
    limit = max_attempts()
    with transaction.atomic():
        job = model._default_manager.select_for_update().filter(_expired(now), pk=pk).first()
        if job is None:
            return 0  # finished or renewed meanwhile
        _abandon_task(job.task_id, now)
        if job.attempt >= limit:
            model._default_manager.filter(pk=pk).update(
                status=JobStatus.FAILED,
                message=job.failed_message(gave_up_message(job.attempt)),
                finished_at=now,
                lease_expires_at=None,
            )
            logger.error("%s %s given up after %s attempts", model.__name__, pk, job.attempt)
            return 1
        attempt = job.attempt + 1
        model._default_manager.filter(pk=pk).update(
            status=JobStatus.QUEUED,
            attempt=attempt,
            message=restart_message(attempt),
            lease_expires_at=None,
            task_id="",
            **model.restart_fields,
        )
        job.refresh_from_db()
        # In the same transaction: the job and its new task appear together.
        job.enqueue_task()
    logger.warning("%s %s restarted (attempt %s of %s)", model.__name__, pk, attempt, limit)
    return 1


WORKER_LOST = f"{__name__}.WorkerLost"


def _task_rows() -> Any:
    """django-tasks-db's task rows, or None with another task backend."""
    if not apps.is_installed("django_tasks_db"):
        return None
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects


def _abandon_task(task_id: str, now: datetime) -> None:
    """django-tasks-db leaves the task of a killed worker RUNNING for ever: mark it
    failed (the job continues, if at all, as a new task)."""
    rows = _task_rows()
    if rows is None or not task_id:
        return
    try:
        uuid.UUID(task_id)
    except ValueError:
        return
    rows.filter(id=task_id, status="RUNNING").update(
        status="FAILED",
        finished_at=now,
        exception_class_path=WORKER_LOST,
        traceback="The worker running this task stopped (its lease expired).",
    )


def _abandon_dead_recovery_tasks(now: datetime) -> None:
    rows = _task_rows()
    if rows is None:
        return
    started_before = now - timedelta(seconds=lease_seconds())
    rows.filter(
        task_path=recover_jobs.module_path, status="RUNNING", started_at__lt=started_before
    ).update(
        status="FAILED",
        finished_at=now,
        exception_class_path=WORKER_LOST,
        traceback="The worker running this task stopped.",
    )


def schedule_recovery() -> None:
    """Queue `recover_jobs` one lease from now unless it is queued already. A task
    backend that runs tasks at once (tests) has nothing to recover."""
    backend = recover_jobs.get_backend()
    if not backend.supports_defer:
        return
    rows = _task_rows()
    path = recover_jobs.module_path
    if rows is not None and rows.filter(task_path=path, status="READY").exists():
        return
    run_after = timezone.now() + timedelta(seconds=lease_seconds())
    recover_jobs.using(run_after=run_after).enqueue()


def _unfinished_jobs() -> bool:
    return any(
        model._default_manager.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists()
        for model in job_models()
    )


@task()
def recover_jobs() -> int:
    """The periodic recovery, run by the worker; it reschedules itself while any job is
    unfinished (an idle system queues nothing)."""
    try:
        return recover()
    finally:
        if _unfinished_jobs():
            schedule_recovery()
