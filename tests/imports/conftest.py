from pathlib import Path

import pytest

from tests.imports.workers import DB_TASKS, LEASE, Workers


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):  # type: ignore[no-untyped-def]
    """Uploaded files and reports go to a per-test directory."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def batches(settings):  # type: ignore[no-untyped-def]
    """Batches of 2 rows: a few rows span several batches."""
    settings.KYC_UPLOAD_BATCH_ROWS = 2


@pytest.fixture
def queued(settings):  # type: ignore[no-untyped-def]
    """Tasks go to django-tasks-db's table and wait there for a worker."""
    settings.TASKS = DB_TASKS
    settings.KYC_JOB_LEASE_SECONDS = LEASE
    settings.KYC_JOB_MAX_ATTEMPTS = 3


@pytest.fixture
def workers(queued, transactional_db, tmp_path, settings):  # type: ignore[no-untyped-def]
    workers = Workers(tmp_path, Path(settings.MEDIA_ROOT))
    yield workers
    workers.stop()
