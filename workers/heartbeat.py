"""The worker's heartbeat thread: `heartbeat_beat` every `heartbeat_seconds()` on its
own database connection, from the worker's start until it stops."""

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connections
from django.utils import timezone

from workers.selectors import heartbeat_seconds
from workers.services import heartbeat_beat, heartbeat_stop

logger = logging.getLogger("workers")


@contextmanager
def beating(worker_id: str) -> Iterator[None]:
    stop = threading.Event()
    started_at = timezone.now()
    hostname, pid = socket.gethostname(), os.getpid()

    def beat() -> None:
        try:
            while True:
                try:
                    heartbeat_beat(
                        worker_id=worker_id, hostname=hostname, pid=pid, started_at=started_at
                    )
                except DatabaseError as exc:  # e.g. SQLite busy while a job writes
                    logger.warning("Worker heartbeat not written (%s); trying again", exc)
                if stop.wait(heartbeat_seconds()):
                    return
        finally:
            connections.close_all()  # this thread's connections only

    thread = threading.Thread(target=beat, name="worker-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        try:
            heartbeat_stop(worker_id=worker_id)
        except DatabaseError as exc:
            logger.warning("Worker heartbeat not removed (%s)", exc)
