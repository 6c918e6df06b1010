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
    row_errors = models.JSONField(default=list, blank=True)
    outcomes = models.TextField(
        blank=True, editable=False, help_text="One RowOutcome letter per data row (row 2 on)."
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

    @property
    def percent(self) -> int:
        if self.status == UploadStatus.COMPLETED:
            return 100
        if not self.total_rows:
            return 0
        return min(100, self.processed_rows * 100 // self.total_rows)
