"""`manage.py wait_for_worker`: wait until a task worker has reported in and has run
every task that is due (none ready, none running), e.g. before `make run` prints its
login box, so the worker's start-up lines come before it. Exit status 1 on timeout."""

import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from workers.selectors import worker_absent

RUNNING_COUNTS_FOR = timedelta(minutes=10)


def _idle() -> bool:
    if worker_absent():
        return False
    if DBTaskResult.objects.ready().exists():
        return False
    # A killed worker leaves its task RUNNING for ever: only recent ones count.
    recent = timezone.now() - RUNNING_COUNTS_FOR
    return not DBTaskResult.objects.filter(status="RUNNING", started_at__gte=recent).exists()


class Command(BaseCommand):
    help = "Wait until a task worker is running and idle (every due task done)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=60, help="Seconds (default 60).")

    def handle(self, *args: Any, timeout: float, **options: Any) -> None:
        deadline = time.monotonic() + timeout
        while not _idle():
            if time.monotonic() > deadline:
                raise CommandError(f"No idle task worker after {timeout:g} s.")
            time.sleep(0.25)
