"""Background work of screening, on django.tasks (django-tasks-db's db_worker).

Monitoring needs no cron: `run_monitoring` screens whoever is due and enqueues itself
again `MONITORING_INTERVAL` later; `ensure_monitoring_scheduled` (called when a
customer is put under monitoring, and by the task itself) starts the chain when no
run is waiting.
"""

from datetime import timedelta

from django.db import transaction
from django.tasks import TaskContext, default_task_backend, task
from django.utils import timezone

MONITORING_INTERVAL = timedelta(minutes=10)


@task(takes_context=True)
def import_watchlist(context: TaskContext, watchlist_id: int) -> None:
    # Imported here: the task module is loaded by the worker before apps are ready.
    from screening.services import watchlist_import_run

    watchlist_import_run(watchlist_id=watchlist_id, task_id=str(context.task_result.id))


@task()
def screen_watchlist_version(organisation_id: str, watchlist_id: int, version: int) -> None:
    from screening.services import screen_monitored_against_version

    screen_monitored_against_version(
        organisation_id=organisation_id, watchlist_id=watchlist_id, version=version
    )


@task()
def rescreen_customers(organisation_id: str, customer_ids: list[int]) -> None:
    from screening.services import rescreen_changed

    rescreen_changed(organisation_id=organisation_id, customer_ids=customer_ids)


@task()
def run_monitoring() -> int:
    from screening.services import screen_due

    screened = screen_due()
    ensure_monitoring_scheduled()
    return screened


def _waiting_run_exists() -> bool:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        task_path=run_monitoring.module_path, status="READY"
    ).exists()


def ensure_monitoring_scheduled() -> bool:
    """Enqueue the next monitoring run unless one is waiting; True when enqueued.
    Backends that cannot defer a task (the immediate one of the tests) get none."""
    if not default_task_backend.supports_defer:
        return False
    with transaction.atomic():
        if _waiting_run_exists():
            return False
        run_monitoring.using(run_after=timezone.now() + MONITORING_INTERVAL).enqueue()
    return True
