"""A watchlist import is a leased job (kycregistry/jobs.py): a worker that dies
mid-import leaves the list to be restarted, never stuck "running" nor blocking the
next upload."""

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from kycregistry import jobs
from screening.models import Watchlist, WatchlistEntry
from screening.services import watchlist_import_run, watchlist_upload
from tests.screening.factories import SANCTIONS

pytestmark = pytest.mark.django_db

IMPORT_TASK = "screening.tasks.import_watchlist"


@pytest.fixture
def queued(settings):  # type: ignore[no-untyped-def]
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.KYC_JOB_LEASE_SECONDS = 1
    settings.KYC_JOB_MAX_ATTEMPTS = 3


def upload(org: Any) -> Watchlist:
    return watchlist_upload(
        organisation=org, name="Sanctions", file=SimpleUploadedFile("l.ftm", SANCTIONS)
    )


def worker_dies_running(watchlist: Watchlist) -> None:
    task = DBTaskResult.objects.get(task_path=IMPORT_TASK, status="READY")
    task.claim("dead-worker")
    assert jobs.claim(Watchlist, watchlist.pk, task_id=str(task.id)) is not None
    past = timezone.now() - timedelta(seconds=1)
    Watchlist.objects.filter(pk=watchlist.pk).update(lease_expires_at=past)


def test_recovery_restarts_the_import_of_a_dead_worker(queued, org):
    watchlist = upload(org)
    worker_dies_running(watchlist)

    assert jobs.recover() == 1

    watchlist.refresh_from_db()
    assert (watchlist.status, watchlist.attempt) == ("queued", 2)
    assert watchlist.message == "Restarted after the worker stopped (attempt 2 of 3)"
    fresh = DBTaskResult.objects.get(task_path=IMPORT_TASK, status="READY")
    assert fresh.args_kwargs == {"args": [], "kwargs": {"watchlist_id": watchlist.pk}}
    watchlist_import_run(watchlist_id=watchlist.pk, task_id=str(fresh.id))
    watchlist.refresh_from_db()
    assert (watchlist.status, watchlist.version, watchlist.entry_count) == ("completed", 1, 3)
    assert watchlist.lease_expires_at is None
    assert WatchlistEntry.objects.filter(watchlist=watchlist).count() == 3


def test_an_unfinished_import_blocks_a_new_upload_and_a_dead_one_is_restarted(queued, org):
    watchlist = upload(org)
    task = DBTaskResult.objects.get(task_path=IMPORT_TASK, status="READY")
    task.claim("worker")
    assert jobs.claim(Watchlist, watchlist.pk, task_id=str(task.id)) is not None
    with pytest.raises(ValidationError) as error:
        upload(org)
    assert error.value.message_dict == {
        "file": ["Watchlist Sanctions is being imported; wait until its job ends"]
    }

    past = timezone.now() - timedelta(seconds=1)
    Watchlist.objects.filter(pk=watchlist.pk).update(lease_expires_at=past)
    with pytest.raises(ValidationError):
        upload(org)  # the dead worker's import is restarted first: it runs again
    watchlist.refresh_from_db()
    assert (watchlist.status, watchlist.attempt) == ("queued", 2)
    fresh = DBTaskResult.objects.get(task_path=IMPORT_TASK, status="READY")
    watchlist_import_run(watchlist_id=watchlist.pk, task_id=str(fresh.id))
    again = upload(org)  # finished: the next version may come
    assert (again.pk, again.status, again.attempt, again.message) == (watchlist.pk, "queued", 1, "")


def test_the_status_endpoint_notices_a_dead_worker(queued, api, org):
    watchlist = upload(org)
    worker_dies_running(watchlist)
    response = api.get(f"/api/v1/watchlists/{watchlist.pk}")
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["status"], data["attempt"]) == ("queued", 2)
