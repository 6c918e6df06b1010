from typing import Any

from django.core.management.base import BaseCommand

from webhooks.delivery import due_endpoint_ids
from webhooks.tasks import deliver_endpoint, schedule_sweep


class Command(BaseCommand):
    help = (
        "Queue delivery tasks for every endpoint with due webhook deliveries, and the "
        "periodic sweep (run once after a deploy, or from cron: it is idempotent)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        from django.utils import timezone

        endpoint_ids = due_endpoint_ids(now=timezone.now())
        for endpoint_id in endpoint_ids:
            deliver_endpoint.enqueue(endpoint_id=str(endpoint_id))
        scheduled = schedule_sweep()
        self.stdout.write(
            f"{len(endpoint_ids)} endpoint(s) with due deliveries queued; "
            f"periodic sweep {'queued' if scheduled else 'already queued'}."
        )
