"""Writes of the worker heartbeat (run by the worker itself)."""

from datetime import datetime, timedelta

from django.utils import timezone

from workers.models import WorkerHeartbeat

# Rows of workers that stopped without saying so (killed) are dropped after this.
FORGET_AFTER = timedelta(days=1)


def heartbeat_beat(*, worker_id: str, hostname: str, pid: int, started_at: datetime) -> None:
    """Record that this worker is alive now."""
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"hostname": hostname, "pid": pid, "started_at": started_at, "seen_at": now},
    )
    WorkerHeartbeat.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()


def heartbeat_stop(*, worker_id: str) -> None:
    """The worker stops on purpose: it is no longer there to run tasks."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()
