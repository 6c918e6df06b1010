"""Real `manage.py db_worker` processes for the tests that kill one with SIGKILL (the
fixtures `queued` and `workers` are in conftest.py)."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
LEASE = 1


class Workers:
    """`db_worker` processes on the test database. On PostgreSQL they use it directly;
    SQLite's test database lives in this process's memory, so it is copied to a file
    before the workers run (`push`) and back after (`pull`)."""

    def __init__(self, tmp_path: Path, media_root: Path) -> None:
        self.tmp_path = tmp_path
        self.sqlite = connection.vendor == "sqlite"
        self.file = tmp_path / "worker.sqlite3"
        self.marker = tmp_path / "paused"
        self.media_root = media_root
        self.processes: list[subprocess.Popen] = []
        self.started = 0
        self.env: dict[str, str] = {}  # for every worker (e.g. KYC_UPLOAD_BATCH_ROWS)

    def url(self) -> str:
        if self.sqlite:
            return f"sqlite:///{self.file}"
        db = connection.settings_dict
        password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
        host, port = db["HOST"] or "localhost", db["PORT"] or 5432
        return f"postgres://{quote(db['USER'])}{password}@{host}:{port}/{db['NAME']}"

    def push(self) -> None:
        if self.sqlite:
            connection.ensure_connection()
            with closing(sqlite3.connect(self.file)) as target:
                connection.connection.backup(target)

    def pull(self) -> None:
        if self.sqlite:
            with closing(sqlite3.connect(self.file)) as source:
                source.backup(connection.connection)

    def job(self, pk: int) -> tuple[str, int, str]:
        sql = "SELECT status, attempt, message FROM imports_bulkupload WHERE id = %s"
        if self.sqlite:
            with closing(sqlite3.connect(self.file)) as db:
                return db.execute(sql.replace("%s", "?"), [pk]).fetchone()
        with connection.cursor() as cursor:
            cursor.execute(sql, [pk])
            return cursor.fetchone()

    def start(
        self, *, paused: bool, batch: bool = False, extra: dict[str, str] | None = None
    ) -> subprocess.Popen:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "DATABASE_", "KYC_"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="kycregistry.settings.base",
            DJANGO_DEBUG="1",
            DATABASE_URL=self.url(),
            KYC_MEDIA_ROOT=str(self.media_root),
            KYC_JOB_LEASE_SECONDS=str(LEASE),
            KYC_JOB_MAX_ATTEMPTS="3",
        )
        env.update(self.env)
        env.update(extra or {})
        if paused:
            env["KYC_TEST_PAUSE_MARKER"] = str(self.marker)
        args = ["db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.1"]
        self.started += 1
        log = (self.tmp_path / f"worker-{self.started}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.imports.paused_worker", *args]
            + (["--batch"] if batch else []),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def log(self) -> str:
        return (self.tmp_path / f"worker-{self.started}.log").read_text()

    def kill_mid_import(self, pk: int, after_batches: int = 0) -> tuple[str, int, str]:
        """A worker runs the job until its rows are written (not their completion) and
        is killed there; or, with `after_batches`, right after it committed that many
        batches. Returns the job as it was just before. Then one lease passes."""
        self.marker.unlink(missing_ok=True)
        extra = {"KYC_TEST_PAUSE_AFTER_BATCHES": str(after_batches)} if after_batches else {}
        process = self.start(paused=True, extra=extra)
        deadline = time.monotonic() + 60
        while not self.marker.exists():
            assert process.poll() is None, self.log()
            assert time.monotonic() < deadline, self.log()
            time.sleep(0.05)
        seen = self.job(pk)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
        time.sleep(LEASE + 0.3)
        return seen

    def run_until_idle(self) -> None:
        process = self.start(paused=False, batch=True)
        assert process.wait(timeout=120) == 0, self.log()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
