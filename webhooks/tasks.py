"""Background work of webhooks, on django.tasks (django-tasks-db's db_worker).

`deliver_endpoint` sends one endpoint's due deliveries; it is enqueued when the
transaction that wrote them commits, and again for the time a failed one is due; each
run makes sure the periodic sweep is queued.
`sweep_deliveries` runs every WEBHOOKS_SWEEP_SECONDS and enqueues `deliver_endpoint`
for every endpoint with due deliveries: whatever was committed but never enqueued
(a process that died right after its commit) or is due for a retry gets sent. It also
deletes the deliveries past their retention. Both are safe to run twice at once: rows
are claimed with a lease.
"""

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError
from django.tasks import task
from django.utils import timezone

logger = logging.getLogger(__name__)

# A process queues at most one delivery task per endpoint in this window; a run keeps
# watching for new rows a little longer than that before it ends.
QUEUE_WINDOW_SECONDS = 1.0
LINGER_SECONDS = 2.0


def _deferrable(task_obj: Any) -> bool:
    return bool(task_obj.get_backend().supports_defer)


@task()
def deliver_endpoint(endpoint_id: str) -> int:
    from webhooks.delivery import deliver_due

    linger = LINGER_SECONDS if _deferrable(deliver_endpoint) else 0.0
    result = deliver_due(endpoint_id=endpoint_id, linger_seconds=linger)
    schedule_sweep()  # every run re-arms the periodic sweep if it is not queued
    if result.more:
        deliver_endpoint.enqueue(endpoint_id=endpoint_id)
    elif result.failed_at is not None and _deferrable(deliver_endpoint):
        deliver_endpoint.using(run_after=result.failed_at).enqueue(endpoint_id=endpoint_id)
    return result.delivered


@task()
def sweep_deliveries() -> int:
    from webhooks.delivery import due_endpoint_ids, prune_deliveries

    now = timezone.now()
    endpoint_ids = due_endpoint_ids(now=now)
    for endpoint_id in endpoint_ids:
        deliver_endpoint.enqueue(endpoint_id=str(endpoint_id))
    pruned = prune_deliveries(now=now)
    if pruned:
        logger.info("Deleted %d webhook deliveries past their retention", pruned)
    schedule_sweep()
    return len(endpoint_ids)


def sweep_interval() -> timedelta:
    return timedelta(seconds=getattr(settings, "WEBHOOKS_SWEEP_SECONDS", 60))


def schedule_sweep() -> bool:
    """Queue the next sweep unless one is queued already (one row says when it runs;
    whoever moves it queues the task). Backends that cannot defer a task (tests run
    tasks at once) get none. Returns whether a sweep was queued."""
    from webhooks.models import SweepSchedule

    if not _deferrable(sweep_deliveries):
        return False
    now = timezone.now()
    run_at = now + sweep_interval()
    moved = SweepSchedule.objects.filter(pk=1, next_run_at__lte=now).update(next_run_at=run_at)
    if not moved:
        try:
            _, moved = SweepSchedule.objects.get_or_create(pk=1, defaults={"next_run_at": run_at})
        except IntegrityError:  # created by another worker at the same moment
            moved = False
    if moved:
        sweep_deliveries.using(run_after=run_at).enqueue()
    return bool(moved)
