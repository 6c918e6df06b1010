"""Leases of background jobs (kycregistry/jobs.py) on the bulk upload: a job whose
worker died is restarted, at most KYC_JOB_MAX_ATTEMPTS attempts, then failed with a
message; never left running. The last two tests kill real `db_worker` processes."""

import time
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from customers.models import Customer
from imports import importer
from imports.models import BulkUpload, UploadStatus
from imports.services import bulk_upload_create, bulk_upload_run
from kycregistry import jobs
from tests.admin_support import make_staff
from tests.imports.sheets import upload_file, xlsx
from tests.imports.workers import LEASE

IMPORT_TASK = "imports.tasks.import_bulk_upload"
RECOVERY_TASK = "kycregistry.jobs.recover_jobs"
RESTARTED_2 = "Restarted after the worker stopped (attempt 2 of 3)"
GAVE_UP = "Failed: the worker stopped during each of its 3 attempts"


def people(count: int) -> bytes:
    return xlsx([[f"Person {n}", f"P-{n}", 1, None] for n in range(count)])


def new_upload(org: Any, rows: int = 3) -> BulkUpload:
    return bulk_upload_create(organisation=org, file=upload_file(people(rows)))


def worker_takes(upload: BulkUpload) -> jobs.Lease:
    """What a worker does before it dies: claim the task row, then the job."""
    task = DBTaskResult.objects.get(task_path=IMPORT_TASK, status="READY")
    task.claim("dead-worker")
    lease = jobs.claim(BulkUpload, upload.pk, task_id=str(task.id))
    assert lease is not None
    return lease


def expire(upload: BulkUpload) -> None:
    past = timezone.now() - timedelta(seconds=1)
    BulkUpload.objects.filter(pk=upload.pk).update(lease_expires_at=past)


def import_tasks() -> list[tuple[str, str]]:
    rows = DBTaskResult.objects.filter(task_path=IMPORT_TASK).order_by("enqueued_at")
    return list(rows.values_list("status", "exception_class_path"))


@pytest.mark.django_db
def test_a_new_job_is_attempt_1_in_the_api(api):
    response = api.post(
        "/api/v1/customers/bulk-upload", {"file": upload_file(people(2))}, format="multipart"
    )
    assert response.status_code == 202
    data = response.json()["data"]
    assert (data["status"], data["attempt"]) == ("completed", 1)
    upload = BulkUpload.objects.get(pk=data["id"])
    assert upload.lease_expires_at is None  # the finished job holds no lease


@pytest.mark.django_db
def test_queueing_a_job_schedules_recovery_once(queued, org):
    before = timezone.now()
    first, second = new_upload(org), new_upload(org)
    assert (first.status, first.attempt, second.status) == ("queued", 1, "queued")
    recovery = DBTaskResult.objects.get(task_path=RECOVERY_TASK)
    assert recovery.status == "READY"
    assert recovery.run_after >= before + timedelta(seconds=LEASE)
    assert DBTaskResult.objects.filter(task_path=IMPORT_TASK, status="READY").count() == 2


@pytest.mark.django_db
def test_recovery_restarts_a_job_whose_lease_expired_with_a_fresh_task(queued, org):
    upload = new_upload(org, rows=3)
    lease = worker_takes(upload)
    assert lease.attempt == 1
    BulkUpload.objects.filter(pk=upload.pk).update(total_rows=3, processed_rows=2)
    expire(upload)

    assert jobs.recover() == 1

    upload.refresh_from_db()
    assert (upload.status, upload.attempt, upload.message) == ("queued", 2, RESTARTED_2)
    assert (upload.processed_rows, upload.lease_expires_at, upload.task_id) == (0, None, "")
    assert import_tasks() == [("FAILED", "kycregistry.jobs.WorkerLost"), ("READY", "")]
    fresh = DBTaskResult.objects.get(task_path=IMPORT_TASK, status="READY")
    assert fresh.args_kwargs == {"args": [], "kwargs": {"upload_id": upload.pk}}

    # The next worker runs attempt 2 to the end.
    bulk_upload_run(upload_id=upload.pk, task_id=str(fresh.id))
    upload.refresh_from_db()
    assert (upload.status, upload.attempt, upload.created_count) == ("completed", 2, 3)
    assert upload.message == ""
    assert upload.task_id == str(fresh.id)
    assert Customer.objects.filter(organisation=org).count() == 3
    assert jobs.recover() == 0


@pytest.mark.django_db
def test_recovery_leaves_a_job_with_a_live_lease_alone(queued, org):
    upload = new_upload(org)
    worker_takes(upload)
    assert jobs.recover() == 0
    upload.refresh_from_db()
    assert (upload.status, upload.attempt) == ("running", 1)
    assert import_tasks() == [("RUNNING", "")]


@pytest.mark.django_db
def test_a_running_job_without_a_lease_is_recovered_after_one_lease(queued, org):
    """A job started before leases existed (lease empty) is not running for ever."""
    upload = new_upload(org)
    worker_takes(upload)
    BulkUpload.objects.filter(pk=upload.pk).update(lease_expires_at=None)
    assert jobs.recover() == 0
    long_ago = timezone.now() - timedelta(seconds=LEASE + 1)
    BulkUpload.objects.filter(pk=upload.pk).update(started_at=long_ago)
    assert jobs.recover() == 1
    upload.refresh_from_db()
    assert (upload.status, upload.attempt) == ("queued", 2)


@pytest.mark.django_db
def test_the_last_attempt_fails_the_job_with_a_message(queued, org):
    upload = new_upload(org)
    worker_takes(upload)
    BulkUpload.objects.filter(pk=upload.pk).update(attempt=3)
    expire(upload)

    assert jobs.recover() == 1

    upload.refresh_from_db()
    assert (upload.status, upload.attempt, upload.message) == ("failed", 3, GAVE_UP)
    assert upload.finished_at is not None
    assert import_tasks() == [("FAILED", "kycregistry.jobs.WorkerLost")]


@pytest.mark.django_db
def test_max_attempts_is_a_setting(queued, settings, org):
    settings.KYC_JOB_MAX_ATTEMPTS = 1
    upload = new_upload(org)
    worker_takes(upload)
    expire(upload)
    jobs.recover()
    upload.refresh_from_db()
    assert (upload.status, upload.message) == (
        "failed",
        "Failed: the worker stopped during each of its 1 attempts",
    )


@pytest.mark.django_db
def test_the_status_endpoint_notices_an_expired_lease(queued, api, org):
    upload = new_upload(org)
    worker_takes(upload)
    url = f"/api/v1/customers/bulk-upload/{upload.pk}"
    assert api.get(url).json()["data"]["status"] == "running"

    expire(upload)
    data = api.get(url).json()["data"]
    assert (data["status"], data["attempt"], data["message"]) == ("queued", 2, RESTARTED_2)
    assert data["processedRows"] == 0


@pytest.mark.django_db
def test_the_admin_progress_shows_the_restart_and_stops_polling_when_given_up(queued, client, org):
    client.force_login(make_staff(org))
    upload = new_upload(org)
    worker_takes(upload)
    expire(upload)
    url = reverse("admin:customers-bulk-upload-progress", args=[upload.pk])
    html = client.get(url).content.decode()
    assert 'data-status="queued"' in html and "hx-get" in html
    assert '<span class="upload-attempt">(attempt 2)</span>' in html
    assert f'<p class="help upload-restart">{RESTARTED_2}</p>' in html

    BulkUpload.objects.filter(pk=upload.pk).update(status=UploadStatus.QUEUED)
    lease = worker_takes(upload)
    BulkUpload.objects.filter(pk=upload.pk).update(attempt=3)
    lease.attempt = 3
    expire(upload)
    html = client.get(url).content.decode()
    assert 'data-status="failed"' in html and "hx-get" not in html
    assert f'<p class="errornote upload-message">{GAVE_UP}</p>' in html


@pytest.mark.django_db
def test_a_job_taken_over_while_planning_writes_nothing(queued, org, monkeypatch, caplog):
    upload = new_upload(org, rows=3)
    task = DBTaskResult.objects.get(task_path=IMPORT_TASK)
    plan = importer.Importer.plan

    def plan_meanwhile_taken_over(self: Any, sheet: Any) -> Any:
        # Recovery decided this worker was gone and restarted the job. (Here on the
        # import's own connection, so it is rolled back with the import's transaction.)
        BulkUpload.objects.filter(pk=upload.pk).update(status=UploadStatus.QUEUED, attempt=2)
        return plan(self, sheet)

    monkeypatch.setattr(importer.Importer, "plan", plan_meanwhile_taken_over)
    bulk_upload_run(upload_id=upload.pk, task_id=str(task.id))

    assert f"Bulk upload {upload.pk} attempt 1 was taken over" in caplog.messages
    assert not Customer.objects.filter(organisation=org).exists()
    upload.refresh_from_db()
    # Neither completed nor failed by the worker that lost it.
    assert (upload.status, upload.created_count, upload.message) == ("running", 0, "")


@pytest.mark.django_db
def test_the_recovery_task_reschedules_itself_only_while_jobs_are_unfinished(queued, org):
    upload = new_upload(org)
    DBTaskResult.objects.filter(task_path=RECOVERY_TASK).delete()
    assert jobs.recover_jobs.call() == 0
    assert DBTaskResult.objects.filter(task_path=RECOVERY_TASK, status="READY").count() == 1

    DBTaskResult.objects.filter(task_path=RECOVERY_TASK).delete()
    BulkUpload.objects.filter(pk=upload.pk).update(status=UploadStatus.COMPLETED)
    assert jobs.recover_jobs.call() == 0
    assert not DBTaskResult.objects.filter(task_path=RECOVERY_TASK).exists()


@pytest.mark.django_db
def test_a_dead_recovery_task_is_marked_failed(queued, org):
    new_upload(org)
    recovery = DBTaskResult.objects.get(task_path=RECOVERY_TASK)
    recovery.claim("dead-worker")
    long_ago = timezone.now() - timedelta(seconds=LEASE + 1)
    DBTaskResult.objects.filter(pk=recovery.pk).update(started_at=long_ago)
    jobs.recover()
    recovery.refresh_from_db()
    assert (recovery.status, recovery.exception_class_path) == (
        "FAILED",
        "kycregistry.jobs.WorkerLost",
    )


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_renews_the_lease_and_notices_a_takeover(queued, org):
    upload = new_upload(org)
    lease = worker_takes(upload)
    first = BulkUpload.objects.get(pk=upload.pk).lease_expires_at
    assert first is not None
    with jobs.heartbeat(lease):
        time.sleep(LEASE * 0.8)
        renewed = BulkUpload.objects.get(pk=upload.pk).lease_expires_at
        assert renewed is not None and renewed > first
        assert not lease.lost
        BulkUpload.objects.filter(pk=upload.pk).update(attempt=2)  # taken over
        time.sleep(LEASE * 0.8)
        assert lease.lost
        assert BulkUpload.objects.get(pk=upload.pk).lease_expires_at == renewed


# Real workers, killed with SIGKILL (tests/imports/workers.py).


def test_a_worker_killed_mid_import_is_replaced_and_the_job_completes(workers, org):
    upload = new_upload(org, rows=1000)
    workers.push()

    seen = workers.kill_mid_import(upload.pk)
    assert seen == ("running", 1, "")
    workers.run_until_idle()  # runs recovery, then attempt 2
    workers.pull()

    upload.refresh_from_db()
    assert (upload.status, upload.attempt, upload.message) == ("completed", 2, "")
    assert (upload.total_rows, upload.processed_rows, upload.created_count) == (1000, 1000, 1000)
    assert (upload.updated_count, upload.unchanged_count, upload.skipped_count) == (0, 0, 0)
    customers = Customer.objects.filter(organisation=org)
    assert customers.count() == 1000
    assert customers.values("reference_id").distinct().count() == 1000
    assert import_tasks() == [("FAILED", "kycregistry.jobs.WorkerLost"), ("SUCCESSFUL", "")]
    assert not DBTaskResult.objects.filter(status="RUNNING").exists()


def test_a_job_whose_worker_dies_every_time_fails_after_three_attempts(workers, org):
    upload = new_upload(org, rows=3)
    workers.push()

    seen = [workers.kill_mid_import(upload.pk) for _ in range(3)]
    assert seen == [
        ("running", 1, ""),
        ("running", 2, RESTARTED_2),
        ("running", 3, "Restarted after the worker stopped (attempt 3 of 3)"),
    ]
    workers.run_until_idle()
    workers.pull()

    upload.refresh_from_db()
    # Was: nothing imported. Each batch now commits on its own (here the only one, before
    # each worker was killed at the completion): the failed job keeps it and says so.
    assert (upload.status, upload.attempt, upload.committed_rows) == ("failed", 3, 3)
    assert upload.message == (
        f"{GAVE_UP} The customers of the first 3 of 3 rows had been imported (the report "
        "lists each row); uploading the file again imports the rest."
    )
    assert Customer.objects.filter(organisation=org).count() == 3
    assert import_tasks() == [("FAILED", "kycregistry.jobs.WorkerLost")] * 3
    # Nothing left to run or to recover: the recovery task stopped rescheduling itself.
    assert not DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).exists()
