"""The periodic sweep is queued once however many workers re-arm it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from webhooks import tasks
from webhooks.models import SweepSchedule

pytestmark = pytest.mark.django_db


class QueuedSweeps:
    def __init__(self) -> None:
        self.run_after: list = []

    def using(self, *, run_after):
        self.run_after.append(run_after)
        return self

    def enqueue(self) -> None:
        pass


@pytest.fixture
def queued(monkeypatch) -> QueuedSweeps:
    stub = QueuedSweeps()
    monkeypatch.setattr(tasks, "_deferrable", lambda task: True)
    monkeypatch.setattr(tasks, "sweep_deliveries", stub)
    return stub


def test_the_sweep_is_queued_once_per_interval(queued, settings):
    settings.WEBHOOKS_SWEEP_SECONDS = 60
    assert tasks.schedule_sweep() is True
    assert tasks.schedule_sweep() is False  # already queued
    assert len(queued.run_after) == 1
    schedule = SweepSchedule.objects.get()
    assert schedule.next_run_at == queued.run_after[0]
    assert timedelta(seconds=59) < schedule.next_run_at - timezone.now() <= timedelta(seconds=60)

    # Its time has come (the sweep runs, or died running): the next one is queued.
    SweepSchedule.objects.update(next_run_at=timezone.now() - timedelta(seconds=1))
    assert tasks.schedule_sweep() is True
    assert len(queued.run_after) == 2


def test_backends_that_cannot_defer_get_no_sweep(monkeypatch):
    # The test settings run tasks at once: no periodic sweep is queued.
    assert tasks.schedule_sweep() is False
    assert not SweepSchedule.objects.exists()
