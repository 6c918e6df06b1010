"""`make run` (scripts/run-demo) as a person sees it: step lines, then the server's and
the worker's start-up output, then the login box last; Ctrl+C (here SIGTERM to the
process group) stops the server and the worker."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
END_OF_BOX = "The server's and the worker's log follow. Ctrl+C stops both."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gone(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return True
    return False


def test_run_demo_prints_the_box_last_and_stops_everything(tmp_path):
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "KYC_"))
    }
    env.update(
        PY=sys.executable,
        PORT=str(port),
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        KYC_MEDIA_ROOT=str(tmp_path / "media"),
    )
    log = tmp_path / "run.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["scripts/run-demo"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        while END_OF_BOX not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        lines = log.read_text().splitlines()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(timeout=30) != 0
    deadline = time.monotonic() + 30
    while not gone(process.pid):  # the worker and the server's reloader child too
        assert time.monotonic() < deadline, "a process of `make run` outlived it"
        time.sleep(0.2)

    steps = [line for line in lines if line.startswith("==> ")]
    assert steps == [
        "==> Migrating the database",
        "==> Loading the demo organisation (seed_demo)",
        "==> Starting a task worker (one log line per task started and finished)",
        f"==> Starting the development server at http://127.0.0.1:{port}/",
    ]
    top = lines.index(next(line for line in lines if re.fullmatch(r"\+=+\+", line)))
    box = lines[top : lines.index(END_OF_BOX)]
    assert box[-1] == box[0]  # the frame closes
    assert all(line.startswith("| ") and line.endswith(" |") for line in box[1:-1])
    assert len({len(line) for line in box}) == 1
    inside = [line[2:-2].rstrip() for line in box[1:-1]]
    assert inside[:3] == [
        f"Admin:    http://127.0.0.1:{port}/admin/",
        "Login:    admin / demo-admin-2026",
        f"API docs: http://127.0.0.1:{port}/api/v1/docs/",
    ]
    assert re.fullmatch(r"kyc_[A-Za-z0-9_-]{20,}", inside[-1])
    # Everything the server and the worker print on start comes before the box.
    before = lines[:top]
    assert any("Starting WSGI development server" in line for line in before)
    assert any("Starting worker worker_id=" in line for line in before)
    assert any("Task finished: kyc.tasks.rescore_organisation" in line for line in before)
    assert not any("Task " in line for line in lines[top:]), lines[top:]
    assert "Traceback" not in "\n".join(lines)
