import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.tasks import TaskResult

from kycregistry.jobs import Job, JobStatus
from organisations.querysets import OrganisationQuerySet


def upload_path(instance: Any, filename: str) -> str:
    # Never the client's file name on disk: it is shown, not trusted.
    return f"uploads/{uuid.uuid4().hex}.xlsx"


def report_path(instance: Any, filename: str) -> str:
    return f"reports/{uuid.uuid4().hex}.xlsx"


UploadStatus = JobStatus


class RowOutcome(models.TextChoices):
    """One letter per data row in `BulkUpload.outcomes` (100k rows → 100 kB)."""

    CREATED = "c", "created"
    UPDATED = "u", "updated"
    UNCHANGED = "n", "unchanged"
    SKIPPED = "s", "skipped"
    BLANK = "b", "blank"
    # Only in the report of a job that stopped before the row (never stored).
    NOT_IMPORTED = "x", "not imported"


def imported_so_far(committed: int, total: int) -> str:
    """What a job that stopped had imported, said after its reason ("" for nothing)."""
    if not committed:
        return ""
    return (
        f" The customers of the first {committed} of {total} rows had been imported (the "
        "report lists each row); uploading the file again imports the rest."
    )


class UploadPhase(models.TextChoices):
    """Where a running (or stopped) import is; a restarted job resumes from its
    checkpoint in this phase (imports.services)."""

    READING = "reading", "reading the file"
    CUSTOMERS = "writing_customers", "validating and writing customers"
    # Only of uploads of an earlier release, which wrote connections after all customers.
    CONNECTIONS = "writing_connections", "writing connections"
    DONE = "done", "done"


class BulkUpload(Job):
    """One uploaded Excel file of an organisation and the job that imports it (status,
    message, attempt and lease: kycregistry/jobs.py)."""

    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.CASCADE,
        related_name="bulk_uploads",
        db_index=False,
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    api_key = models.ForeignKey(
        "organisations.ApiKey",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    file = models.FileField(upload_to=upload_path, max_length=255)
    file_name = models.CharField(max_length=255, help_text="The name the client gave the file.")
    file_size = models.PositiveBigIntegerField(default=0)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    committed_rows = models.PositiveIntegerField(
        default=0,
        help_text="Rows whose customers are committed, from the top of the file (the "
        "checkpoint; a row's connections are committed with the batch of the last row of "
        "the file they name).",
    )
    phase = models.CharField(max_length=20, choices=UploadPhase, blank=True, default="")
    connections_checkpoint = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Of an upload of an earlier release that wrote connections after all "
        "customers: data rows (from row 2, blank ones included) whose connections are "
        "committed.",
    )
    row_errors = models.JSONField(default=list, blank=True)
    outcomes = models.TextField(
        blank=True,
        editable=False,
        help_text="One RowOutcome letter per data row (row 2 on), of the rows whose "
        "customers are committed: its length is the customer phase's checkpoint.",
    )
    report = models.FileField(upload_to=report_path, max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganisationQuerySet.as_manager()

    restart_fields: ClassVar[dict[str, Any]] = {"processed_rows": 0}

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "-created_at"], name="bulkupload_list_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"

    def enqueue_task(self) -> TaskResult:
        from imports.tasks import import_bulk_upload

        return import_bulk_upload.enqueue(upload_id=self.pk)

    def failed_message(self, reason: str) -> str:
        return reason + imported_so_far(self.committed_rows, self.total_rows)

    @property
    def percent(self) -> int:
        if self.status == UploadStatus.COMPLETED:
            return 100
        if not self.total_rows:
            return 0
        return min(100, self.processed_rows * 100 // self.total_rows)
