"""One log line per task the worker starts and finishes, instead of django.tasks' own
lines (a failed task still gets django.tasks' error with its traceback)."""

import logging
from typing import Any

from django.tasks import TaskResult, TaskResultStatus
from django.tasks.signals import task_finished, task_started

logger = logging.getLogger("workers")
ARGUMENTS_SHOWN = 80


def _describe(result: TaskResult) -> str:
    arguments = [repr(a) for a in result.args] + [f"{k}={v!r}" for k, v in result.kwargs.items()]
    shown = ", ".join(arguments)
    if len(shown) > ARGUMENTS_SHOWN:
        shown = shown[: ARGUMENTS_SHOWN - 1] + "…"
    return f"{result.task.module_path}({shown}) #{str(result.id)[:8]}"


def _started(sender: Any, task_result: TaskResult, **kwargs: Any) -> None:
    logger.info("Task started: %s", _describe(task_result))


def _finished(sender: Any, task_result: TaskResult, **kwargs: Any) -> None:
    took = ""
    if task_result.started_at and task_result.finished_at:
        took = f" in {(task_result.finished_at - task_result.started_at).total_seconds():.2f} s"
    if task_result.status == TaskResultStatus.SUCCESSFUL:
        logger.info("Task finished: %s%s", _describe(task_result), took)
    else:
        error = task_result.errors[-1].exception_class_path if task_result.errors else ""
        logger.warning(
            "Task %s: %s%s %s", task_result.status.lower(), _describe(task_result), took, error
        )


def log_task_events() -> None:
    """Log task events this way in this process (the worker)."""
    task_started.connect(_started, dispatch_uid="workers.task_log.started")
    task_finished.connect(_finished, dispatch_uid="workers.task_log.finished")


def quiet_django_tasks() -> None:
    """Leave django.tasks' own per-task INFO lines out (its errors stay)."""
    logging.getLogger("django.tasks").setLevel(logging.WARNING)
