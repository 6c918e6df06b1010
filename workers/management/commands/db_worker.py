"""`manage.py db_worker`: django-tasks-db's worker with a heartbeat (workers.heartbeat)
and one log line per task started and finished (workers.task_log).

This app is listed before django_tasks_db in INSTALLED_APPS, so this command is the
one `manage.py db_worker` runs; every option is django-tasks-db's."""

import os
from typing import Any

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from workers.heartbeat import beating
from workers.task_log import log_task_events, quiet_django_tasks


class Command(db_worker.Command):
    help = db_worker.Command.help + " (with a heartbeat the admin reads)"

    def handle(self, *args: Any, **options: Any) -> None:
        reloads = options.get("reload") and not options.get("batch")
        if reloads and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            # The autoreloader's parent only watches files; its child runs the tasks
            # (and this method again, with the variable set).
            super().handle(*args, **options)
            return
        log_task_events()
        with beating(options["worker_id"]):
            super().handle(*args, **options)

    def configure_logging(self, verbosity: int) -> None:
        super().configure_logging(verbosity)
        if verbosity == 1:
            quiet_django_tasks()
