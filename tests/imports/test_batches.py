"""The bulk upload in checkpointed batches (imports.services): customers committed batch
by batch, each row's connections with the batch of the last row of the file they name,
per-batch events, a failed job that keeps (and reports) what it committed, and a
restarted job that resumes from its checkpoint. Small batches (KYC_UPLOAD_BATCH_ROWS)
make a few rows span several of them."""

import io
import threading
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from openpyxl import load_workbook

from customers.models import Customer
from imports import writer
from imports.models import BulkUpload, UploadPhase, UploadStatus
from imports.services import bulk_upload_create, bulk_upload_run
from kyc.reactions import _enqueue
from kycregistry import events
from relations.models import Connection, Role
from tests.admin_support import make_staff
from tests.factories import ConnectionFactory, PersonFactory
from tests.imports.sheets import upload_file, xlsx
from tests.webhooks.factories import EndpointFactory
from webhooks.models import Delivery, EventType

URL = "/api/v1/customers/bulk-upload"
NOT_LINKED_YET = (
    "connects: Not imported: the job stopped before the connections of this row were written"
)


def upload(api: Any, rows: list[list[Any]]) -> dict[str, Any]:
    response = api.post(URL, {"file": upload_file(xlsx(rows))}, format="multipart")
    assert response.status_code == 202, response.json()
    data: dict[str, Any] = api.get(f"{URL}/{response.json()['data']['id']}").json()["data"]
    return data


def errors_of(data: dict[str, Any]) -> list[tuple[int, str, str]]:
    return [(e["row"], e["column"], e["message"]) for e in data["rowErrors"]]


def report_rows(api: Any, pk: int) -> list[tuple[Any, ...]]:
    response = api.get(f"{URL}/{pk}/report")
    assert response.status_code == 200, response.content
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def people(*numbers: int) -> list[list[Any]]:
    return [[f"Person {n}", f"P-{n}", 1, None] for n in numbers]


def links(org: Any) -> set[tuple[str, str, str]]:
    return {
        (c.customer.reference_id, c.connected_customer.reference_id, c.role)
        for c in Connection.objects.filter(organisation=org).select_related(
            "customer", "connected_customer"
        )
    }


def fail_on_batch(monkeypatch: pytest.MonkeyPatch, number: int) -> None:
    """The customer phase's `number`-th batch fails after its writes and events."""
    write = writer.PlanWriter.write
    calls = []

    def failing(self: writer.PlanWriter) -> None:
        write(self)
        calls.append(1)
        if len(calls) == number:
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(writer.PlanWriter, "write", failing)


pytestmark = pytest.mark.django_db


def test_a_forward_reference_from_the_first_batch_to_the_last(api, org, batches, announced):
    rows = [
        ["Acme Ltd", "C-1", 2, [{"referenceId": "P-9", "role": "DIRECTOR"}]],
        *people(1, 2, 3, 4, 5),
        ["Jane Last", "P-9", 1, None],
    ]
    job = upload(api, rows)
    assert (job["status"], job["createdCount"], job["skippedCount"]) == ("completed", 7, 0)
    assert (job["committedRows"], job["phase"]) == (7, "done")
    assert links(org) == {("C-1", "P-9", Role.DIRECTOR)}
    # Four customer batches (2 + 2 + 2 + 1 rows), then one of connections.
    written = [e for e in announced if isinstance(e, events.CustomersWritten)]
    assert [len(e.created_ids) for e in written] == [2, 2, 2, 1]
    changed = [e for e in announced if isinstance(e, events.ConnectionsChanged)]
    assert len(changed) == 1 and len(changed[0].added) == 1


def test_connections_are_written_with_the_batch_of_the_last_row_they_name(
    api, org, batches, announced, monkeypatch
):
    rows = [
        *people(1),
        ["One Ltd", "C-1", 2, [{"referenceId": "P-1", "role": "DIRECTOR"}]],  # same batch
        ["Two Ltd", "C-2", 2, [{"referenceId": "P-1", "role": "UBO"}]],  # an earlier one
        ["Three Ltd", "C-3", 2, [{"referenceId": "P-9", "role": "DIRECTOR"}]],  # a later one
        *people(2),
        ["Nine", "P-9", 1, None],
    ]
    job = upload(api, rows)
    assert (job["status"], job["createdCount"]) == ("completed", 6)
    # Each batch announces its customers, then the connections due in it.
    assert [
        (
            type(e).__name__,
            len(e.created_ids) if isinstance(e, events.CustomersWritten) else len(e.added),
        )
        for e in announced
    ] == [
        ("CustomersWritten", 2),
        ("ConnectionsChanged", 1),  # C-1 → P-1
        ("CustomersWritten", 2),
        ("ConnectionsChanged", 1),  # C-2 → P-1
        ("CustomersWritten", 2),
        ("ConnectionsChanged", 1),  # C-3 → P-9, once P-9 is written
    ]
    one, three = (Customer.objects.get(organisation=org, reference_id=r) for r in ("C-1", "C-3"))
    # C-1 was inserted with its digest; C-3 was stamped when its connections were written.
    assert one.import_digest and one.import_digest_at == one.created_at == one.updated_at
    assert three.import_digest and three.import_digest_at == three.updated_at > three.created_at
    # One history record each: writing a row's connections later is no change of its own.
    history = Customer.history.filter(organisation_id=org.pk)
    assert sorted(history.values_list("reference_id", "history_type")) == sorted(
        (ref, "+") for ref in ("P-1", "C-1", "C-2", "C-3", "P-2", "P-9")
    )

    again = upload(api, rows)
    assert (again["unchangedCount"], again["updatedCount"]) == (6, 0)

    # The same rows under other referenceIds, in a job that stops before P-9's batch: it
    # keeps C-1's and C-2's connections, and reports C-3's as not written.
    fail_on_batch(monkeypatch, 3)
    renamed = [
        [
            name,
            f"X{ref}",
            kind,
            connects and [{**connects[0], "referenceId": f"X{connects[0]['referenceId']}"}],
        ]
        for name, ref, kind, connects in rows
    ]
    other = upload(api, renamed)
    assert (other["status"], other["committedRows"]) == ("failed", 4)
    assert links(org) >= {("XC-1", "XP-1", "DIRECTOR"), ("XC-2", "XP-1", "UBO")}
    assert not {link for link in links(org) if link[0] == "XC-3"}
    report = report_rows(api, other["id"])
    assert [(row[0], row[-2], row[-1]) for row in report[1:]] == [
        (2, "created", None),
        (3, "created", None),
        (4, "created", None),
        (5, "created", NOT_LINKED_YET),
        (6, "not imported", "The job stopped before this row"),
        (7, "not imported", "The job stopped before this row"),
    ]


def test_a_connection_to_a_row_skipped_in_a_later_batch_links_nothing(api, org, batches):
    acme = PersonFactory(organisation=org, reference_id="X-1")  # a stored person
    company = Customer.objects.create(
        organisation=org, reference_id="C-1", name="Acme Ltd", account_type=2
    )
    ConnectionFactory(organisation=org, customer=company, connected_customer=acme, role="UBO")
    rows = [
        [
            "Acme Ltd",
            "C-1",
            2,
            [
                {"referenceId": "P-1", "role": "DIRECTOR"},
                {"referenceId": "P-5", "role": "DIRECTOR"},
            ],
        ],
        *people(1, 2, 3),
        ["Bad Type", "P-5", 9, None],
    ]
    job = upload(api, rows)
    assert job["status"] == "completed"
    assert errors_of(job) == [
        (
            2,
            "connects",
            "Connected customer(s) not imported: P-5 (row 6 was skipped); this row's "
            "customer was imported without its connections",
        ),
        (6, "accountTypeId", "Must be 1 (Person) or 2 (Company)."),
    ]
    assert (job["createdCount"], job["unchangedCount"], job["skippedCount"]) == (3, 1, 1)
    # Nothing half-linked: C-1 keeps the connections it had, none of its row's.
    assert links(org) == {("C-1", "X-1", Role.UBO)}
    assert Customer.objects.filter(organisation=org, reference_id="P-1").exists()
    # The row is judged again next time (no digest was stored for it).
    company.refresh_from_db()
    assert company.import_digest == ""


def test_a_failed_job_keeps_and_reports_its_committed_batches(api, org, batches, monkeypatch):
    # C-1's connection waits for P-5, in the last batch.
    rows = [
        ["Acme Ltd", "C-1", 2, [{"referenceId": "P-5", "role": "DIRECTOR"}]],
        *people(1, 2, 3, 4, 5),
    ]
    fail_on_batch(monkeypatch, 2)
    job = upload(api, rows)
    assert (job["status"], job["committedRows"], job["phase"]) == (
        "failed",
        2,
        "writing_customers",
    )
    assert job["message"] == (
        "The import failed unexpectedly; the error was logged. The customers of the first 2 "
        "of 6 rows had been imported (the report lists each row); uploading the file again "
        "imports the rest."
    )
    assert (job["createdCount"], job["skippedCount"]) == (2, 0)
    assert set(
        Customer.objects.filter(organisation=org).values_list("reference_id", flat=True)
    ) == {
        "C-1",
        "P-1",
    }
    assert not Connection.objects.filter(organisation=org).exists()
    report = report_rows(api, job["id"])
    assert [(row[0], row[-2], row[-1]) for row in report[1:]] == [
        (2, "created", NOT_LINKED_YET),
        (3, "created", None),
        (4, "not imported", "The job stopped before this row"),
        (5, "not imported", "The job stopped before this row"),
        (6, "not imported", "The job stopped before this row"),
        (7, "not imported", "The job stopped before this row"),
    ]

    monkeypatch.undo()
    again = upload(api, rows)
    assert again["status"] == "completed"
    # C-1 was found unchanged, then its connections were written: updated.
    assert (again["createdCount"], again["updatedCount"], again["unchangedCount"]) == (4, 1, 1)
    assert Customer.objects.filter(organisation=org).count() == 6
    assert links(org) == {("C-1", "P-5", Role.DIRECTOR)}


def test_events_are_announced_per_committed_batch_only(
    api, org, batches, monkeypatch, django_capture_on_commit_callbacks
):
    EndpointFactory(organisation=org, events=["*"], include_import_events=True)
    rows = people(1, 2, 3, 4, 5)
    fail_on_batch(monkeypatch, 2)
    with django_capture_on_commit_callbacks() as callbacks:
        failed = upload(api, rows)
    assert failed["status"] == "failed"
    committed = set(Customer.objects.filter(organisation=org).values_list("id", flat=True))
    assert len(committed) == 2
    # Rescoring (queued after the commit) and the webhook outbox saw batch 1 only: the
    # events of batch 2, announced before it failed, went with its rollback.
    rescored = {
        pk
        for callback in callbacks
        if getattr(callback, "func", None) is _enqueue
        for pk in callback.args[1]
    }
    assert rescored == committed
    created = Delivery.objects.filter(event_type=EventType.CUSTOMER_CREATED)
    assert created.count() == 2
    assert not Delivery.objects.filter(event_type=EventType.BULK_UPLOAD_COMPLETED).exists()

    monkeypatch.undo()
    done = upload(api, rows)
    assert (done["status"], done["createdCount"], done["unchangedCount"]) == ("completed", 3, 2)
    assert created.count() == 5
    completed = Delivery.objects.filter(event_type=EventType.BULK_UPLOAD_COMPLETED)
    assert completed.count() == 1


# A real worker killed between two batches.

FILE_ROWS = [
    ["Acme Ltd", "C-1", 2, [{"referenceId": "P-7", "role": "DIRECTOR"}]],
    *people(1, 2),
    ["Holdco Ltd", "C-2", 2, [{"referenceId": "C-1", "role": "SHAREHOLDER"}]],
    *people(3),
    ["Third Ltd", "C-3", 2, [{"referenceId": "P-1", "role": "DIRECTOR"}]],
    *people(4),
    ["Bad Type", "P-8", 9, None],
    ["Fourth Ltd", "C-4", 2, [{"referenceId": "P-8", "role": "DIRECTOR"}]],
    *people(7),
]


def state_of(org: Any) -> tuple[set[tuple[Any, ...]], set[tuple[str, str, str]]]:
    customers = set(
        Customer.objects.filter(organisation=org).values_list(
            "reference_id", "name", "account_type"
        )
    )
    return customers, links(org)


# 10 rows in batches of 3: rows 2-4, 5-7, 8-10, 11 (batches 1-4). C-2 (row 5) and C-3
# (row 7) name earlier rows: their connections go with batch 2; C-4's (row 10) would go
# with batch 3 (P-8 is skipped there: it has none); C-1's (row 2) wait for P-7, row 11.
@pytest.mark.parametrize(("after", "phase"), [(2, "writing_customers"), (3, "writing_customers")])
def test_a_worker_killed_between_two_batches_resumes_from_its_checkpoint(
    workers, org, other_org, settings, after, phase
):
    settings.KYC_UPLOAD_BATCH_ROWS = 3
    workers.env["KYC_UPLOAD_BATCH_ROWS"] = "3"
    content = xlsx(FILE_ROWS)
    upload = bulk_upload_create(organisation=org, file=upload_file(content))
    workers.push()

    seen = workers.kill_mid_import(upload.pk, after_batches=after)
    assert seen == ("running", 1, "")
    assert workers.marker.read_text() == f"{phase} {after}"  # killed right there
    workers.run_until_idle()  # recovery, then attempt 2 resumes
    workers.pull()

    upload.refresh_from_db()
    assert (upload.status, upload.attempt, upload.phase) == ("completed", 2, "done")
    assert (upload.created_count, upload.skipped_count, upload.committed_rows) == (9, 1, 10)
    assert [(e["row"], e["column"]) for e in upload.row_errors] == [
        (9, "accountTypeId"),
        (10, "connects"),
    ]
    # Committed batches were not written again: one history record per customer, one
    # per connection.
    history = Customer.history.filter(organisation_id=org.pk)
    assert sorted(history.values_list("reference_id", "history_type")) == sorted(
        (ref, "+") for ref, _, _ in state_of(org)[0]
    )
    assert Connection.history.filter(organisation_id=org.pk).count() == 3

    # Exactly what an uninterrupted run makes.
    reference = bulk_upload_create(organisation=other_org, file=upload_file(content))
    bulk_upload_run(upload_id=reference.pk)
    reference.refresh_from_db()
    assert (reference.status, reference.attempt) == ("completed", 1)
    assert (reference.outcomes, reference.row_errors) == (upload.outcomes, upload.row_errors)
    assert state_of(org) == state_of(other_org)
    assert state_of(org)[1] == {
        ("C-1", "P-7", Role.DIRECTOR),
        ("C-2", "C-1", Role.SHAREHOLDER),
        ("C-3", "P-1", Role.DIRECTOR),
    }


def test_the_phase_and_committed_rows_are_shown_while_running_and_after_a_failure(api, client, org):
    client.force_login(make_staff(org))
    upload = BulkUpload.objects.create(
        organisation=org,
        file_name="big.xlsx",
        status=UploadStatus.RUNNING,
        total_rows=200,
        processed_rows=170,
        committed_rows=200,
        phase=UploadPhase.CONNECTIONS,
    )
    data = api.get(f"{URL}/{upload.pk}").json()["data"]
    assert (data["phase"], data["committedRows"], data["processedRows"]) == (
        "writing_connections",
        200,
        170,
    )
    url = reverse("admin:customers-bulk-upload-progress", args=[upload.pk])
    html = client.get(url).content.decode()
    assert "— 170 of 200 rows" in html
    assert '<span class="upload-phase">(writing connections; 200 rows committed)</span>' in html

    BulkUpload.objects.filter(pk=upload.pk).update(
        status=UploadStatus.FAILED, committed_rows=150, phase=UploadPhase.CUSTOMERS
    )
    html = client.get(url).content.decode()
    assert '<p class="help upload-committed">150 of 200 rows committed</p>' in html


@pytest.mark.django_db(transaction=True)
def test_overlapped_batches_are_written_by_the_writer_thread_in_order(api, org, batches):
    """On PostgreSQL outside a transaction, batch k+1 is planned while a writer thread
    writes batch k; the result is that of the batches one after the other."""
    if connection.vendor != "postgresql":
        pytest.skip("the writer thread runs on PostgreSQL only")
    threads: list[tuple[str, int]] = []

    def seen(event: events.CustomersWritten) -> None:
        threads.append((threading.current_thread().name, len(event.created_ids)))

    events.subscribe(events.CustomersWritten, seen)
    try:
        job = upload(api, FILE_ROWS)
    finally:
        events.unsubscribe(events.CustomersWritten, seen)
    assert (job["status"], job["createdCount"], job["skippedCount"]) == ("completed", 9, 1)
    assert threads == [("bulk-upload-writer", n) for n in (2, 2, 2, 1, 2)]
    assert links(org) == {
        ("C-1", "P-7", Role.DIRECTOR),
        ("C-2", "C-1", Role.SHAREHOLDER),
        ("C-3", "P-1", Role.DIRECTOR),
    }


@pytest.mark.django_db
def test_customer_pages_keep_room_for_updates_on_postgresql():
    """An owner whose connections wait for a later row is written again with them: with
    room on its page the update skips the indexes (customers.migrations.0009)."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL storage parameter")
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'customers_customer'")
        assert cursor.fetchone() == (["fillfactor=80"],)
