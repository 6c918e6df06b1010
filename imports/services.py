"""Writes of the bulk upload: accept a file (checks at once, then a background job),
run the job, build its report."""

import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from imports.guards import UploadRejected, inspect_upload, scan_sheet
from imports.importer import Importer, ImportFailed, Plan
from imports.models import BulkUpload, RowOutcome, UploadStatus
from imports.reader import read_rows, start_reading
from imports.report import build_report
from imports.writer import PlanWriter
from kycregistry import events, jobs
from organisations.audit import Channel, audit_context
from organisations.models import ApiKey, Organisation

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

UNEXPECTED = "The import failed unexpectedly and nothing was imported; the error was logged"


def bulk_upload_create(
    *,
    organisation: Organisation,
    file: UploadedFile,
    user: "AbstractBaseUser | None" = None,
    api_key: ApiKey | None = None,
) -> BulkUpload:
    """Check the file (UploadRejected: 400/413), store it and queue the import."""
    size = file.size or 0
    file.seek(0)
    inspect_upload(file, size)  # type: ignore[arg-type]
    file.seek(0)
    upload = BulkUpload(
        organisation=organisation,
        uploaded_by=user if user is not None and user.is_authenticated else None,  # type: ignore[misc]
        api_key=api_key,
        file_name=(Path(file.name or "").name or "upload.xlsx")[:255],
        file_size=size,
    )
    upload.file.save("upload.xlsx", file, save=False)
    upload.full_clean(exclude=["file", "report"])
    upload.save()
    jobs.enqueue(upload)
    upload.refresh_from_db()
    return upload


class _Progress:
    """processed_rows, written through a second connection so the browser sees it while
    the import's own transaction is open. SQLite has one writer at a time: there the
    count moves only outside that transaction.

    `close()`, called by the import between planning and writing, also checks that the
    job is still this attempt's (jobs.Lease.check): a job taken over by recovery while
    it planned writes nothing, and from there on its row stays locked to this attempt
    until the transaction ends."""

    def __init__(self, upload_id: int, lease: jobs.Lease | None = None) -> None:
        self.upload_id = upload_id
        self.lease = lease
        self.attempt = lease.attempt if lease is not None else 0
        self.side: Any = None
        self.last = 0.0
        if connection.vendor == "postgresql":
            try:
                self.side = connections.create_connection(DEFAULT_DB_ALIAS)
            except Exception:  # progress is a nicety; the import goes on without it
                logger.warning("No side connection for bulk upload progress", exc_info=True)

    def __call__(self, done: int, *, force: bool = False) -> None:
        if self.side is None or (not force and time.monotonic() - self.last < 0.5):
            return
        self.last = time.monotonic()
        try:
            with self.side.cursor() as cursor:
                cursor.execute(
                    "UPDATE imports_bulkupload SET processed_rows = %s "
                    "WHERE id = %s AND attempt = %s",
                    [done, self.upload_id, self.attempt],
                )
        except Exception:
            logger.warning("Bulk upload progress not written", exc_info=True)
            self.close_side()

    def close(self) -> None:
        self.close_side()
        if self.lease is not None and connection.in_atomic_block:
            self.lease.check()

    def close_side(self) -> None:
        if self.side is not None:
            self.side.close()
            self.side = None


def _completed_fields(plan: Plan) -> dict[str, Any]:
    total = len(plan.rows) - plan.count(RowOutcome.BLANK)
    message = ""
    if plan.ignored_columns:
        message = "Ignored column(s) that match no customer field: " + ", ".join(
            plan.ignored_columns
        )
    return {
        "status": UploadStatus.COMPLETED,
        "total_rows": total,
        "processed_rows": total,
        "created_count": plan.count(RowOutcome.CREATED),
        "updated_count": plan.count(RowOutcome.UPDATED),
        "unchanged_count": plan.count(RowOutcome.UNCHANGED),
        "skipped_count": plan.count(RowOutcome.SKIPPED),
        "row_errors": plan.row_errors(),
        "outcomes": plan.outcomes(),
        "message": message,
        "finished_at": timezone.now(),
    }


def _data_rows(sheet: list[list[Any]]) -> int:
    # The reader drops trailing empty cells, so a blank row is an empty list.
    return sum(1 for row in sheet[1:] if row)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """An import holds millions of long-lived objects (cells, rows, plans) that the
    cyclic garbage collector rescans on every pass of its oldest generation: measured
    on a 100k-row file, that was 40% of the planning time. The job makes no garbage
    cycles worth collecting before it ends, so the collector waits until then."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def bulk_upload_run(*, upload_id: int, task_id: str = "") -> None:
    """The background job. Any failure marks the job failed with a message; the data
    is written in one transaction together with the final counts, so a failed job has
    imported nothing. The job holds a lease (kycregistry/jobs.py) while it runs: if
    its worker dies, recovery restarts it."""
    lease = jobs.claim(BulkUpload, upload_id, task_id=task_id)
    if lease is None:
        return  # another worker has it, it ran already, or it was given up
    upload = BulkUpload.objects.select_related("organisation", "uploaded_by", "api_key").get(
        pk=upload_id
    )
    progress = _Progress(upload_id, lease)
    try:
        with jobs.heartbeat(lease), _collector_paused():
            _import(upload=upload, progress=progress)
    except jobs.LeaseLost:
        logger.warning("Bulk upload %s attempt %s was taken over", upload_id, lease.attempt)
    except (UploadRejected, ImportFailed) as exc:
        lease.fail(exc.message)
    except Exception:
        logger.exception("Bulk upload %s failed", upload_id)
        lease.fail(UNEXPECTED)
    else:
        lease.release()
    finally:
        progress.close_side()


def _import(*, upload: BulkUpload, progress: _Progress) -> None:
    """Read, plan and write one upload in one transaction."""
    path = upload.file.path
    reading = start_reading(path)  # the child reads while this process scans
    try:
        scan_sheet(path)
    except BaseException:
        reading.cancel()
        raise
    sheet = reading.rows()
    total = _data_rows(sheet)
    BulkUpload.objects.filter(pk=upload.pk).update(total_rows=total)
    with (
        audit_context(channel=Channel.IMPORT, user=upload.uploaded_by, api_key=upload.api_key),
        transaction.atomic(),
    ):
        plan = Importer(organisation=upload.organisation, progress=progress).plan(sheet)
        progress(total * 9 // 10, force=True)
        progress.close()
        PlanWriter(
            plan=plan,
            organisation_id=upload.organisation_id,
            change_reason=f"Bulk upload #{upload.pk}",
        ).write()
        BulkUpload.objects.filter(pk=upload.pk).update(**_completed_fields(plan))
        events.announce(
            events.UploadCompleted(organisation_id=upload.organisation_id, upload_id=upload.pk)
        )


def bulk_upload_report(*, upload: BulkUpload) -> bytes:
    """The report workbook: every input row with its outcome and reason (built once, then
    kept with the upload)."""
    if upload.report:
        with upload.report.open("rb") as stored:
            return stored.read()
    sheet = read_rows(upload.file.path)
    reasons: dict[int, list[str]] = {}
    for error in upload.row_errors:
        reasons.setdefault(error["row"], []).append(f"{error['column']}: {error['message']}")
    outcomes = upload.outcomes

    def rows() -> Any:
        for offset, values in enumerate(sheet[1:]):
            outcome = outcomes[offset] if offset < len(outcomes) else RowOutcome.BLANK
            if outcome == RowOutcome.BLANK:
                continue
            number = offset + 2
            yield number, values, outcome, "; ".join(reasons.get(number, []))

    content = build_report(header=sheet[0] if sheet else [], rows=rows())
    upload.report.save("report.xlsx", ContentFile(content), save=False)
    BulkUpload.objects.filter(pk=upload.pk).update(report=upload.report.name)
    return content
