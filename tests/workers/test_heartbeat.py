"""The task workers' heartbeat (workers/): rows a worker writes while it runs, what the
admin reads from them, and a real `manage.py db_worker` that beats, logs one line per
task event and removes its row when stopped."""

import signal
import sqlite3
import time
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from imports.models import BulkUpload
from tests.imports.test_leases import new_upload
from tests.imports.workers import DB_TASKS, LEASE, Workers
from workers.models import WorkerHeartbeat
from workers.selectors import worker_absent, worker_last_seen
from workers.services import heartbeat_beat, heartbeat_stop


@pytest.mark.django_db
def test_a_beat_is_seen_and_a_stopped_worker_is_not():
    assert worker_last_seen() is None and worker_absent()
    started = timezone.now()
    heartbeat_beat(worker_id="w1", hostname="h", pid=10, started_at=started)
    first = WorkerHeartbeat.objects.get()
    heartbeat_beat(worker_id="w1", hostname="h", pid=10, started_at=started)
    again = WorkerHeartbeat.objects.get()  # one row per worker, moved forward
    assert again.seen_at >= first.seen_at and again.started_at == started
    assert worker_last_seen() == again.seen_at and not worker_absent()
    assert worker_absent(now=again.seen_at + timedelta(seconds=61))
    assert not worker_absent(now=again.seen_at + timedelta(seconds=59))
    heartbeat_stop(worker_id="w1")
    assert worker_absent() and not WorkerHeartbeat.objects.exists()


@pytest.mark.django_db
def test_a_beat_forgets_workers_gone_for_a_day():
    old = timezone.now() - timedelta(days=1, seconds=1)
    WorkerHeartbeat.objects.create(
        worker_id="killed", hostname="h", pid=1, started_at=old, seen_at=old
    )
    heartbeat_beat(worker_id="w2", hostname="h", pid=2, started_at=timezone.now())
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["w2"]


class BeatingWorkers(Workers):
    def heartbeats(self) -> list[str]:
        sql = "SELECT worker_id FROM workers_workerheartbeat"
        if self.sqlite:
            with closing(sqlite3.connect(self.file)) as db:
                return [row[0] for row in db.execute(sql)]
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def workers(transactional_db, tmp_path, settings):  # type: ignore[no-untyped-def]
    settings.TASKS = DB_TASKS  # tasks wait in django-tasks-db's table for the worker
    settings.KYC_JOB_LEASE_SECONDS = LEASE
    workers = BeatingWorkers(tmp_path, Path(settings.MEDIA_ROOT))
    yield workers
    workers.stop()


def wait_for(condition, log, seconds: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, log()
        time.sleep(0.1)


def test_a_real_worker_beats_logs_each_task_and_says_goodbye(workers, org):
    upload = new_upload(org, rows=3)
    workers.push()
    process = workers.start(paused=False)
    wait_for(lambda: workers.heartbeats() != [], workers.log)
    (worker_id,) = workers.heartbeats()
    wait_for(lambda: workers.job(upload.pk)[0] == "completed", workers.log)
    finish_line = "Task finished: imports.tasks.import_bulk_upload"
    wait_for(lambda: finish_line in workers.log(), workers.log)

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, workers.log()
    assert workers.heartbeats() == []
    log = workers.log()
    assert f"Starting worker worker_id={worker_id}" in log
    started = [line for line in log.splitlines() if "Task started: imports.tasks" in line]
    finished = [line for line in log.splitlines() if "Task finished: imports.tasks" in line]
    assert len(started) == len(finished) == 1
    assert f"imports.tasks.import_bulk_upload(upload_id={upload.pk}) #" in started[0]
    assert " INFO workers " in finished[0] and finished[0].endswith(" s")
    assert "Task id=" not in log  # django.tasks' own lines are left out
    assert "Traceback" not in log
    workers.pull()
    assert BulkUpload.objects.get(pk=upload.pk).created_count == 3
