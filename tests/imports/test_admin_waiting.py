"""A queued upload in the admin: the officer reads "Waiting to start…"; the technical
reason goes to the log; superusers are warned when no task worker has reported in."""

import logging
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from imports.models import BulkUpload, UploadStatus
from tests.admin_support import make_staff, make_superuser
from tests.imports.sheets import upload_file, xlsx
from workers.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db

WAITING = "Waiting to start…"
NO_WORKER = "No task worker has reported in for 1 minute: uploads wait until one runs."


def beat(seconds_ago: float) -> None:
    seen = timezone.now() - timedelta(seconds=seconds_ago)
    WorkerHeartbeat.objects.create(
        worker_id="w1", hostname="host", pid=1, started_at=seen, seen_at=seen
    )


def pages(client, upload: BulkUpload) -> list[str]:
    return [
        client.get(reverse(f"admin:customers-bulk-upload{name}", args=[upload.pk])).content.decode()
        for name in ("-status", "-progress")
    ]


@pytest.fixture
def queued_upload(org) -> BulkUpload:
    return BulkUpload.objects.create(organisation=org, file_name="wait.xlsx")


def test_the_officer_reads_waiting_to_start_and_nothing_technical(client, org, queued_upload):
    client.force_login(make_staff(org))
    for html in pages(client, queued_upload):
        assert 'data-status="queued"' in html
        assert f"<strong>{WAITING}</strong>" in html
        assert f'<span class="upload-percent">{WAITING}</span>' in html
        for technical in ("worker", "db_worker", "README", "Queued"):
            assert technical not in html
    listing = client.get(reverse("admin:customers-bulk-upload")).content.decode()
    assert f"<td>{WAITING}</td>" in listing
    assert "db_worker" not in listing


def test_the_reason_goes_to_the_log(client, org, queued_upload, caplog):
    client.force_login(make_staff(org))
    with caplog.at_level(logging.WARNING, logger="imports.admin_views"):
        client.get(reverse("admin:customers-bulk-upload-status", args=[queued_upload.pk]))
    assert caplog.messages == [
        f"Bulk upload {queued_upload.pk} is queued and no task worker has been seen for "
        "60 s: start one with `manage.py db_worker`"
    ]


def test_no_log_line_while_a_worker_reports_in(client, org, queued_upload, caplog):
    beat(seconds_ago=5)
    client.force_login(make_staff(org))
    with caplog.at_level(logging.WARNING, logger="imports.admin_views"):
        client.get(reverse("admin:customers-bulk-upload-status", args=[queued_upload.pk]))
    assert caplog.messages == []


def test_a_superuser_is_warned_when_no_worker_was_seen_for_a_minute(client, queued_upload):
    client.force_login(make_superuser())
    for html in pages(client, queued_upload):
        assert NO_WORKER in html
    assert NO_WORKER in client.get(reverse("admin:customers-bulk-upload")).content.decode()

    beat(seconds_ago=61)  # a worker that stopped without saying so
    assert all(NO_WORKER in html for html in pages(client, queued_upload))

    WorkerHeartbeat.objects.update(seen_at=timezone.now() - timedelta(seconds=30))
    for html in pages(client, queued_upload):
        assert "No task worker" not in html
        assert WAITING in html
    listing = client.get(reverse("admin:customers-bulk-upload")).content.decode()
    assert "No task worker" not in listing


def test_the_warning_follows_the_setting(client, queued_upload, settings):
    settings.KYC_WORKER_ABSENT_AFTER_SECONDS = 90
    beat(seconds_ago=61)
    client.force_login(make_superuser())
    assert all("No task worker" not in html for html in pages(client, queued_upload))
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - timedelta(seconds=91))
    assert all("reported in for 90 seconds" in html for html in pages(client, queued_upload))


def test_no_warning_for_staff_or_once_the_job_runs(client, org, queued_upload):
    client.force_login(make_staff(org))
    assert all("No task worker" not in html for html in pages(client, queued_upload))
    client.force_login(make_superuser())
    BulkUpload.objects.filter(pk=queued_upload.pk).update(status=UploadStatus.RUNNING)
    for html in pages(client, queued_upload):
        assert "No task worker" not in html
        assert "<strong>Importing</strong>" in html


def test_uploading_with_no_worker_logs_the_reason(client, org, settings, caplog):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    client.force_login(make_staff(org))
    with caplog.at_level(logging.WARNING, logger="imports.admin_views"):
        response = client.post(
            reverse("admin:customers-bulk-upload"),
            {"file": upload_file(xlsx([["Jane Doe", "P-1", 1, None]]))},
        )
    upload = BulkUpload.objects.get()
    assert response.status_code == 302 and upload.status == UploadStatus.QUEUED
    assert caplog.messages == [
        f"Bulk upload {upload.pk} is queued and no task worker has been seen for "
        "60 s: start one with `manage.py db_worker`"
    ]


def test_the_jobs_list_and_page_say_waiting_to_start(client, org, queued_upload):
    client.force_login(make_staff(org))
    listing = client.get("/admin/imports/bulkupload/").content.decode()
    assert f'<td class="field-state">{WAITING}</td>' in listing
    page = client.get(f"/admin/imports/bulkupload/{queued_upload.pk}/change/").content.decode()
    assert f'<div class="readonly">{WAITING}</div>' in page
    assert '"readonly">Queued<' not in page
