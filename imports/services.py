"""Writes of the bulk upload: accept a file (checks at once, then a background job),
run the job, build its report."""

import contextvars
import gc
import logging
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from imports.guards import UploadRejected, inspect_upload
from imports.importer import (
    CONNECTS,
    WRITTEN,
    FileIndex,
    Importer,
    ImportFailed,
    LinkPlan,
    Plan,
    due_row,
)
from imports.models import BulkUpload, RowOutcome, UploadPhase, UploadStatus, imported_so_far
from imports.read_ahead import ReadAhead
from imports.reader import batch_rows, start_reading, start_scanning
from imports.report import build_report
from imports.statistics import Statistics
from imports.writer import ConcurrentChange, LinkWriter, PlanWriter
from kycregistry import events, jobs
from organisations.audit import Channel, audit_context
from organisations.models import ApiKey, Organisation

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

UNEXPECTED = "The import failed unexpectedly; the error was logged."
CONCURRENT_CHANGE = (
    "Some customers changed while the file was being imported ({refs}), three times in a row."
)
RETRIES = 3


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


def _counts(outcomes: str) -> dict[str, int]:
    return {
        "created_count": outcomes.count(RowOutcome.CREATED),
        "updated_count": outcomes.count(RowOutcome.UPDATED),
        "unchanged_count": outcomes.count(RowOutcome.UNCHANGED),
        "skipped_count": outcomes.count(RowOutcome.SKIPPED),
        "committed_rows": len(outcomes) - outcomes.count(RowOutcome.BLANK),
    }


def _sorted_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(errors, key=lambda error: error["row"])


@contextmanager
def _collector_paused() -> Iterator[None]:
    """An import holds many long-lived objects (its file's index, the connections
    still to write) that the cyclic garbage collector rescans on every pass of its
    oldest generation: measured on a 100k-row file, that was 40% of the planning time.
    The job makes no garbage cycles worth collecting before it ends, so the collector
    waits until then."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@contextmanager
def _prompt_thread_switches() -> Iterator[None]:
    """The writer thread waits on the database for most of a batch, a dozen round trips
    each, while the planning thread runs Python: by default a thread waits up to 5 ms
    for the interpreter after each answer. At 1 ms a 100k-row import took 6.5-6.9 s
    instead of 8.4-9.5 s (measured, interleaved)."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, 0.001))
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def bulk_upload_run(*, upload_id: int, task_id: str = "") -> None:
    """The background job. It commits the file batch by batch (`_Run`), each batch with
    its checkpoint, so a failed job keeps the batches committed before it failed (its
    message and report say which rows), and a restarted one resumes after them. The job
    holds a lease (kycregistry/jobs.py) while it runs: if its worker dies, recovery
    restarts it."""
    lease = jobs.claim(BulkUpload, upload_id, task_id=task_id)
    if lease is None:
        return  # another worker has it, it ran already, or it was given up
    upload = BulkUpload.objects.select_related("organisation", "uploaded_by", "api_key").get(
        pk=upload_id
    )
    try:
        with jobs.heartbeat(lease), _collector_paused(), _prompt_thread_switches():
            _import(upload=upload, lease=lease)
    except jobs.LeaseLost:
        logger.warning("Bulk upload %s attempt %s was taken over", upload_id, lease.attempt)
    except (UploadRejected, ImportFailed) as exc:
        _fail(upload_id, lease, exc.message)
    except Exception:
        logger.exception("Bulk upload %s failed", upload_id)
        _fail(upload_id, lease, UNEXPECTED)
    else:
        lease.release()


def _fail(upload_id: int, lease: jobs.Lease, reason: str) -> None:
    upload = BulkUpload.objects.get(pk=upload_id)
    lease.fail(reason + imported_so_far(upload.committed_rows, upload.total_rows))
    BulkUpload.objects.filter(pk=upload_id, attempt=lease.attempt).update(
        row_errors=_sorted_errors(upload.row_errors)
    )


def _batch_committed(upload_id: int, phase: str, batches: int) -> None:
    """Called after each committed batch (`batches` so far in this attempt): a seam for
    the tests that stop a worker between two batches."""


def _import(*, upload: BulkUpload, lease: jobs.Lease) -> None:
    """Read the file and run its phases, resuming after the upload's checkpoint."""
    path = upload.file.path
    if not upload.phase:
        BulkUpload.objects.filter(pk=upload.pk).update(phase=UploadPhase.READING)
    # Two children: one scans the sheet XML (imports.guards.scan_sheet), one reads it;
    # nothing is written before the scan's verdict, which the first batch waits for.
    scanning = start_scanning(path)
    reading = start_reading(path, batch_rows())
    try:
        try:
            header = reading.header()
            index = FileIndex(reading.index())
        except UploadRejected:
            scanning.verdict()  # a far reference crashes the reader: the scan says why
            raise
        BulkUpload.objects.filter(pk=upload.pk).update(total_rows=index.total)
        with audit_context(channel=Channel.IMPORT, user=upload.uploaded_by, api_key=upload.api_key):
            importer = Importer(organisation=upload.organisation, header=header, index=index)
            run = _Run(
                upload=upload,
                lease=lease,
                importer=importer,
                total=index.total,
                verdict=scanning.verdict,
            )
            run.write(reading.batches())
            run.complete()
    finally:
        reading.cancel()
        scanning.cancel()


def overlap() -> bool:
    """Whether batch k+1 is read and planned while batch k is written
    (`KYC_UPLOAD_OVERLAP`, default on): on PostgreSQL, outside a transaction (the
    writer thread has a connection of its own, which sees only what is committed)."""
    return (
        bool(getattr(settings, "KYC_UPLOAD_OVERLAP", True))
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
    )


@contextmanager
def _writer(enabled: bool) -> Iterator[Callable[[Callable[[], None]], None] | None]:
    """A writer thread, when `enabled`: yields `write(job)`, which hands `job` (the
    writes and commit of one batch) to the thread, waiting while the thread still has
    one batch waiting besides the one it writes. Batches are written in order; the
    first failure stops the writing and is raised here (at the next `write`, or at the
    end of the block, which waits for the last batch). Yields None when not enabled:
    the caller writes itself."""
    if not enabled:
        yield None
        return
    jobs_queue: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=1)
    failed: list[BaseException] = []

    def work() -> None:
        try:
            while (job := jobs_queue.get()) is not None:
                if not failed:
                    try:
                        job()
                    except BaseException as exc:  # raised on the planning thread
                        failed.append(exc)
        finally:
            connections.close_all()  # this thread's connection only

    # The thread writes as the job's actor (organisations.audit is a context variable).
    thread = threading.Thread(
        target=contextvars.copy_context().run, args=(work,), name="bulk-upload-writer"
    )
    thread.start()

    def write(job: Callable[[], None]) -> None:
        if failed:
            raise failed[0]
        jobs_queue.put(job)

    try:
        yield write
    finally:
        jobs_queue.put(None)
        thread.join()
    if failed:
        raise failed[0]


@contextmanager
def _reading_ahead(importer: Importer, enabled: bool) -> Iterator[None]:
    """A thread that reads the next batch's stored customers for `importer`
    (imports.read_ahead), when `enabled` (with the writer thread: the plans are made
    outside a transaction)."""
    if not enabled:
        yield
        return
    importer.ahead = ahead = ReadAhead(importer.stored)
    try:
        yield
    finally:
        importer.ahead = None
        ahead.close()


@dataclass
class _Batch:
    """A planned batch and its writers, prepared."""

    plan: Plan
    customers: PlanWriter
    links: LinkWriter


class _Run:
    """One attempt at an upload: its batches of rows, each validated, written and
    committed with the job's checkpoint, its rows' outcomes and errors and the counts,
    then the completion. A batch writes its customers and the connections due in it
    (imports.importer: those of its rows whose connections name no later row, and
    those of earlier rows that waited for one of its rows). Its events are announced in
    its transaction (so reactions see committed batches only). A batch whose customers
    changed under it (another writer) is planned again."""

    def __init__(
        self,
        *,
        upload: BulkUpload,
        lease: jobs.Lease,
        importer: Importer,
        total: int,
        verdict: Callable[[], None] = lambda: None,
    ) -> None:
        self.verdict = verdict  # raises when the sheet is refused; waited for once
        self.upload = upload
        self.lease = lease
        self.importer = importer
        self.total = total
        # A job of an earlier release stopped in its connection phase (CONNECTIONS) starts
        # over: its committed customers are found as the file says, its connections
        # written with their batches.
        resuming = upload.phase == UploadPhase.CUSTOMERS
        self.outcomes = upload.outcomes if resuming else ""
        self.errors: list[dict[str, Any]] = list(upload.row_errors) if self.outcomes else []
        self.resumed = len(self.outcomes)  # data rows an earlier attempt committed
        self.batches = 0
        # Plans made before a batch was planned again are made again too (they read
        # what it changed); counted here.
        self.replans = 0
        # The client numbers drawn for batches not committed yet, by first row: a batch
        # planned meanwhile must not draw them too (the database does not show them).
        self.drawn: dict[int, frozenset[str]] = {}
        self.reason = f"Bulk upload #{upload.pk}"
        self.statistics = Statistics(upload.organisation_id)

    def _save(self, outcomes: str, errors: list[dict[str, Any]], **fields: Any) -> None:
        """The job's checkpoint, outcomes, errors and counts, in the batch's transaction."""
        updated = BulkUpload.objects.filter(pk=self.upload.pk, attempt=self.lease.attempt).update(
            outcomes=outcomes, row_errors=errors, **_counts(outcomes), **fields
        )
        if not updated:
            raise jobs.LeaseLost(f"BulkUpload {self.upload.pk} attempt {self.lease.attempt}")

    def _committed(self, phase: str) -> None:
        self.batches += 1
        _batch_committed(self.upload.pk, phase, self.batches)

    def write(self, batches: Iterator[list[list[Any]]]) -> None:
        offset = 0
        with _writer(overlap()) as write, _reading_ahead(self.importer, write is not None):
            for values in batches:
                end = offset + len(values)
                if end >= self.resumed:  # the next batch's reads, while this one is planned
                    self.importer.read_ahead(end, end + len(values))
                if offset < self.resumed:  # committed by an earlier attempt: not again
                    done = min(end, self.resumed) - offset
                    rows = self.importer.rows(values[:done], offset)
                    outcomes = self.outcomes[offset : offset + done]
                    self.importer.resume(rows, outcomes, linked_through=self.resumed + 1)
                    values, offset = values[done:], offset + done
                if values:
                    if write is None:
                        self._batch(values, offset)
                    else:
                        replans = self.replans
                        batch = self._prepare(values, offset)
                        write(partial(self._batch, values, offset, batch, replans))
                offset = end

    def _prepare(self, values: list[list[Any]], offset: int) -> "_Batch":
        """Plan a batch and make its writes ready (on the planning thread, when there is
        a writer thread: what is left for it is the database's work)."""
        plan = self.importer.plan(self.importer.rows(values, offset))
        now = timezone.now()
        customers = PlanWriter(
            plan=plan,
            organisation_id=self.upload.organisation_id,
            change_reason=self.reason,
            now=now,
            exclude=set().union(*list(self.drawn.values())),
        )
        customers.prepare()
        self.drawn[offset] = frozenset(customers.numbers)
        self.importer.prepared(plan, now)
        links = LinkWriter(
            plan=plan.links,
            customer_ids=self.importer.index.customer_ids,
            organisation_id=self.upload.organisation_id,
            change_reason=self.reason,
            now=now,
        )
        links.prepare()
        return _Batch(plan, customers, links)

    def _batch(
        self,
        values: list[list[Any]],
        offset: int,
        prepared: "_Batch | None" = None,
        replans: int = 0,
    ) -> None:
        """Write (and plan, unless `prepared`) one batch, and commit it."""
        changed: ConcurrentChange | None = None
        if prepared is not None and replans != self.replans:
            self.importer.forget(prepared.plan)  # planned before an earlier batch was again
            prepared = None
        for _ in range(RETRIES):
            try:
                with transaction.atomic():
                    batch = prepared or self._prepare_again(values, offset)
                    prepared = None
                    plan = batch.plan
                    self.verdict()
                    self.lease.check()
                    batch.customers.write()
                    batch.links.write()
                    outcomes = _linked_outcomes(self.outcomes + plan.outcomes(), plan.links)
                    errors = self.errors + plan.row_errors() + _link_errors(plan.links)
                    committed = len(outcomes) - outcomes.count(RowOutcome.BLANK)
                    self._save(
                        outcomes, errors, phase=UploadPhase.CUSTOMERS, processed_rows=committed
                    )
            except ConcurrentChange as exc:
                changed = exc
                self._plan_again(batch)
                continue
            except IntegrityError as exc:
                changed = self._holders_gone(batch, exc)
                self._plan_again(batch)
                continue
            finally:
                self.drawn.pop(offset, None)
            self.importer.linked(plan.links)
            self.outcomes, self.errors = outcomes, errors
            self._committed(UploadPhase.CUSTOMERS)
            self.statistics.grown(len(plan.create))
            return
        assert changed is not None
        raise ImportFailed(CONCURRENT_CHANGE.format(refs=changed.refs))

    def _holders_gone(self, batch: "_Batch", error: IntegrityError) -> ConcurrentChange:
        """A batch whose commit failed on a foreign key: customers its connections name
        were deleted under the import (planned again, its rows say so), or `error` is
        not of this import's making."""
        refs = self.importer.holders_gone(batch.plan)
        if not refs:
            raise error
        return ConcurrentChange(refs)

    def _plan_again(self, batch: "_Batch") -> None:
        self.importer.forget(batch.plan)
        self.importer.refresh(batch.plan.links)

    def _prepare_again(self, values: list[list[Any]], offset: int) -> "_Batch":
        """Plan a batch on the writing thread (every batch before it is committed); the
        plans made meanwhile are stale."""
        batch = self._prepare(values, offset)
        self.replans += 1
        return batch

    # -- the end ---------------------------------------------------------------------

    def complete(self) -> None:
        self.verdict()
        with transaction.atomic():
            self.lease.check()
            fields = _completed_fields(self)
            self._save(self.outcomes, _sorted_errors(self.errors), **fields)
            events.announce(
                events.UploadCompleted(
                    organisation_id=self.upload.organisation_id, upload_id=self.upload.pk
                )
            )


def _linked_outcomes(outcomes: str, links: LinkPlan) -> str:
    """A row found unchanged whose connections change is updated (the outcomes of a
    long file are copied only when one is)."""
    updated = [
        owner.number - 2
        for owner in links.changed.values()
        if outcomes[owner.number - 2] == RowOutcome.UNCHANGED
    ]
    if not updated:
        return outcomes
    marks = list(outcomes)
    for position in updated:
        marks[position] = RowOutcome.UPDATED
    return "".join(marks)


def _link_errors(links: LinkPlan) -> list[dict[str, Any]]:
    return [
        {"row": owner.number, "column": CONNECTS, "message": message}
        for owner, message in links.errors
    ]


def _completed_fields(run: _Run) -> dict[str, Any]:
    message = ""
    if run.importer.ignored:
        message = "Ignored column(s) that match no customer field: " + ", ".join(
            run.importer.ignored
        )
    return {
        "status": UploadStatus.COMPLETED,
        "phase": UploadPhase.DONE,
        "total_rows": run.total,
        "processed_rows": run.total,
        "message": message,
        "finished_at": timezone.now(),
    }


NOT_LINKED_YET = "Not imported: the job stopped before the connections of this row were written"
NOT_REACHED = "The job stopped before this row"


def report_ready(upload: BulkUpload) -> bool:
    """A completed job has a report, and so has a failed one that committed a batch
    (it says which rows were imported and which were not)."""
    return upload.status == UploadStatus.COMPLETED or (
        upload.status == UploadStatus.FAILED
        and upload.phase in (UploadPhase.CUSTOMERS, UploadPhase.CONNECTIONS)
    )


def bulk_upload_report(*, upload: BulkUpload) -> bytes:
    """The report workbook: every input row with its outcome and reason (built once, then
    kept with the upload). Of a failed job: rows after its checkpoint are "not
    imported", and so are the connections of rows it had not linked yet."""
    if upload.report:
        with upload.report.open("rb") as stored:
            return stored.read()
    reading = start_reading(upload.file.path)
    try:
        header = reading.header()
        index = FileIndex(reading.index())
        names = [str(cell).strip() if cell is not None else "" for cell in header]
        connects = names.index(CONNECTS) if CONNECTS in names else None
        reasons: dict[int, list[str]] = {}
        for error in upload.row_errors:
            reasons.setdefault(error["row"], []).append(f"{error['column']}: {error['message']}")
        outcomes = upload.outcomes
        stopped = upload.status != UploadStatus.COMPLETED

        def not_linked_yet(number: int, cell: Any) -> bool:
            """A committed row whose connections were due in a batch not committed."""
            if upload.phase == UploadPhase.CONNECTIONS:  # an upload of an earlier release
                return number - 2 >= upload.connections_checkpoint
            return due_row(number, cell, index) > len(outcomes) + 1

        def rows() -> Any:
            offset = 0
            for batch in reading.batches():
                for values in batch:
                    number, offset = offset + 2, offset + 1
                    if not values:
                        continue
                    why = reasons.get(number, [])
                    if number - 2 >= len(outcomes):
                        yield number, values, RowOutcome.NOT_IMPORTED, NOT_REACHED
                        continue
                    outcome = outcomes[number - 2]
                    if outcome == RowOutcome.BLANK:
                        continue
                    if (
                        stopped
                        and outcome in WRITTEN
                        and connects is not None
                        and connects < len(values)
                        and values[connects] not in (None, "")
                        and not_linked_yet(number, values[connects])
                    ):
                        why = [*why, f"{CONNECTS}: {NOT_LINKED_YET}"]
                    yield number, values, outcome, "; ".join(why)

        content = build_report(header=header, rows=rows())
    finally:
        reading.cancel()
    upload.report.save("report.xlsx", ContentFile(content), save=False)
    BulkUpload.objects.filter(pk=upload.pk).update(report=upload.report.name)
    return content
