"""A customer that a waiting connection names is deleted (directly in the database:
the product only deactivates) after its row's batch committed and before the batch
that writes the connection: the owner's row is reported without its connections,
nothing is half-linked, and the job completes. The batches commit for real (the
foreign keys are checked at commit), hence transactional tests."""

from typing import Any

import pytest

from customers.models import Customer
from imports import services
from imports.models import BulkUpload
from imports.services import bulk_upload_create, bulk_upload_run
from relations.models import Role
from tests.factories import PersonFactory
from tests.imports.sheets import upload_file, xlsx
from tests.imports.test_batches import links, people
from tests.webhooks.factories import EndpointFactory
from webhooks.models import Delivery, EventType

pytestmark = pytest.mark.django_db(transaction=True)

GONE = (
    "Connected customer(s) deleted before the connections were written: {refs}; this row's "
    "customer was imported without its connections"
)


def delete_after_batch(monkeypatch: pytest.MonkeyPatch, org: Any, reference: str) -> None:
    """Once the first batch is committed, the customer `reference` is deleted."""

    def deleting(upload_id: int, phase: str, batches: int) -> None:
        if batches == 1:
            Customer.objects.filter(organisation=org, reference_id=reference).delete()

    monkeypatch.setattr(services, "_batch_committed", deleting)


def run(org: Any, rows: list[list[Any]]) -> BulkUpload:
    upload = bulk_upload_create(organisation=org, file=upload_file(xlsx(rows)))
    bulk_upload_run(upload_id=upload.pk)
    upload.refresh_from_db()
    return upload


def outcome(upload: BulkUpload) -> tuple[Any, ...]:
    errors = [(e["row"], e["column"], e["message"]) for e in upload.row_errors]
    return upload.status, upload.message, errors


def test_a_stored_customer_named_by_a_waiting_connection_is_deleted(
    org, batches, queued, monkeypatch
):
    PersonFactory(organisation=org, reference_id="X-1", name="Stored Person")
    # Deliveries wait in the task table (`queued`): what the outbox wrote is what counts.
    EndpointFactory(organisation=org, events=["connection.created"], include_import_events=True)
    # C-1's connections wait for P-5 (last batch); X-1 is not in the file.
    rows = [
        [
            "Acme Ltd",
            "C-1",
            2,
            [{"referenceId": "X-1", "role": "UBO"}, {"referenceId": "P-5", "role": "DIRECTOR"}],
        ],
        *people(1, 2, 3, 4, 5),
        ["Beta Ltd", "C-2", 2, [{"referenceId": "P-5", "role": "DIRECTOR"}]],
    ]
    delete_after_batch(monkeypatch, org, "X-1")
    upload = run(org, rows)
    assert outcome(upload) == ("completed", "", [(2, "connects", GONE.format(refs="X-1"))])
    assert (upload.created_count, upload.skipped_count) == (7, 0)
    # Nothing half-linked: C-1 has neither connection; C-2 has its own.
    assert links(org) == {("C-2", "P-5", Role.DIRECTOR)}
    # The events of the failed commit went with its rollback: one connection announced.
    announced = Delivery.objects.filter(event_type=EventType.CONNECTION_CREATED)
    assert [d.payload["data"]["customerReferenceId"] for d in announced] == ["C-2"]


def test_a_customer_of_an_earlier_batch_named_by_a_waiting_connection_is_deleted(
    org, batches, monkeypatch
):
    # C-1 names P-1 (its own batch) and P-5 (the last): its connections wait for P-5.
    rows = [
        [
            "Acme Ltd",
            "C-1",
            2,
            [{"referenceId": "P-1", "role": "DIRECTOR"}, {"referenceId": "P-5", "role": "UBO"}],
        ],
        *people(1, 2, 3, 4, 5),
    ]
    delete_after_batch(monkeypatch, org, "P-1")
    upload = run(org, rows)
    assert outcome(upload) == ("completed", "", [(2, "connects", GONE.format(refs="P-1"))])
    assert links(org) == set()
    assert not Customer.objects.filter(organisation=org, reference_id="P-1").exists()
