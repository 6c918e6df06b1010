from django.db import models


class WorkerHeartbeat(models.Model):
    """One running task worker (`manage.py db_worker`): it writes `seen_at` every
    `KYC_WORKER_HEARTBEAT_SECONDS` while it runs and removes its row when it stops.
    A killed worker's row simply ages."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid} ({self.worker_id})"
