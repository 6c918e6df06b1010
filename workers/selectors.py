"""Is a task worker running? Read from the heartbeat rows the workers write."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from workers.models import WorkerHeartbeat

DEFAULT_HEARTBEAT_SECONDS = 15
# A worker not seen for this long is taken to be gone.
DEFAULT_ABSENT_AFTER_SECONDS = 60


def heartbeat_seconds() -> float:
    return float(getattr(settings, "KYC_WORKER_HEARTBEAT_SECONDS", DEFAULT_HEARTBEAT_SECONDS))


def absent_after() -> timedelta:
    seconds = getattr(settings, "KYC_WORKER_ABSENT_AFTER_SECONDS", DEFAULT_ABSENT_AFTER_SECONDS)
    return timedelta(seconds=float(seconds))


def worker_last_seen() -> datetime | None:
    """When any worker last reported in (None: never, or all stopped on purpose)."""
    return WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()


def worker_absent(*, now: datetime | None = None) -> bool:
    """True when no worker has reported in for `absent_after()`: queued jobs wait."""
    seen = worker_last_seen()
    return seen is None or seen < (now or timezone.now()) - absent_after()
