"""Event bodies: seed 004's client events byte-for-byte in shape, connections, and the
bulk upload's single event."""

import json

import pytest

from customers.services import customer_upsert
from imports.services import bulk_upload_create
from kycregistry import events
from relations.services import connection_remove, connections_replace
from relations.validation import parse_connects
from tests.factories import CompanyFactory, PersonFactory
from tests.imports.sheets import upload_file, xlsx
from tests.webhooks.factories import EndpointFactory
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

COMPANY = {
    "referenceId": "C-1",
    "name": "I.F Technology Ltd",
    "accountTypeId": 2,
    "identity": {
        "type": "corporate",
        "legalName": "I.F Technology Ltd",
        "incorporationDate": "2020-01-01",
        "country": "GB",
    },
    "profile": {"identityType": "corporate", "phone": "+441234567890", "email": "ops@if.tech"},
}


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def bodies(event_type):
    return [
        json.loads(d.body) for d in Delivery.objects.filter(event_type=event_type).order_by("id")
    ]


def test_client_created_is_seed_004s_body(org):
    EndpointFactory(organisation=org, events=["client.created"])
    customer = customer_upsert(organisation=org, data=COMPANY).customer
    (delivery,) = Delivery.objects.all()
    body = json.loads(delivery.body)
    assert body == {
        "webhook": {"module": "clients", "type": "created"},
        "data": {
            "client": {
                "id": str(customer.public_id),
                "clientNumber": customer.client_number,
                "status": "active",
                "identity": {
                    "type": "corporate",
                    "legalName": "I.F Technology Ltd",
                    "incorporationDate": "2020-01-01",
                    "country": "GB",
                },
                "profile": {
                    "identityType": "corporate",
                    "phone": "+441234567890",
                    "email": "ops@if.tech",
                },
                "fullName": "I.F Technology Ltd",
            }
        },
        "connect": {},
        "metadata": {},
    }
    # The seed's key order, at every level.
    assert list(body) == ["webhook", "data", "connect", "metadata"]
    assert list(body["data"]["client"]) == [
        "id",
        "clientNumber",
        "status",
        "identity",
        "profile",
        "fullName",
    ]
    assert list(body["data"]["client"]["identity"]) == [
        "type",
        "legalName",
        "incorporationDate",
        "country",
    ]


def test_client_connection_created_is_seed_004s_body(org):
    customer = customer_upsert(organisation=org, data=COMPANY).customer
    EndpointFactory(organisation=org, events=["client.connection-created"])
    events.announce(
        events.ClientConnected(
            organisation_id=org.pk,
            customer_id=customer.pk,
            connection_id="5ffc8b9c-3073-4625-a55b-4ae69d657cc3",
            service_provider="railsbank",
        )
    )
    (body,) = bodies("client.connection-created")
    assert body["webhook"] == {"module": "clients", "type": "connection-created"}
    assert list(body["data"]["client"]) == [
        "id",
        "clientNumber",
        "status",
        "identity",
        "profile",
        "fullName",
    ]
    assert body["connect"] == {
        "connection": {"id": "5ffc8b9c-3073-4625-a55b-4ae69d657cc3", "serviceProvider": "railsbank"}
    }
    assert body["metadata"] == {}


def test_customer_created_is_the_api_shape(org, api):
    EndpointFactory(organisation=org, events=["customer.created"])
    response = api.post("/api/v1/customers", COMPANY, format="json")
    (body,) = bodies("customer.created")
    assert list(body) == ["type", "timestamp", "data"]
    assert body["type"] == "customer.created"
    assert body["timestamp"].endswith("Z")
    api_data = response.json()["data"]
    api_data.pop("ignoredFields")
    assert body["data"] == api_data


def test_connection_events_carry_both_reference_ids(org):
    company = CompanyFactory(organisation=org, reference_id="C-1")
    PersonFactory(organisation=org, reference_id="P-1", name="Jane Doe")
    EndpointFactory(organisation=org, events=["connection.created", "connection.removed"])
    items = parse_connects(
        [{"referenceId": "P-1", "role": "SHAREHOLDER", "ownershipPercentage": 30}]
    )
    (connection,) = connections_replace(customer=company, items=items)
    (created,) = bodies("connection.created")
    assert created["data"] == {
        "customerReferenceId": "C-1",
        "id": str(connection.pk),
        "role": "SHAREHOLDER",
        "createdAt": created["data"]["createdAt"],
        "updatedAt": created["data"]["updatedAt"],
        "connectedCustomer": {"name": "Jane Doe", "referenceId": "P-1"},
        "ownershipPercentage": "30",
        "validFrom": None,
        "validTo": None,
    }
    connection_remove(connection=connection)
    (removed,) = bodies("connection.removed")
    assert removed["data"] == {
        "customerReferenceId": "C-1",
        "id": str(connection.pk),
        "role": "SHAREHOLDER",
        "connectedCustomer": {"name": "Jane Doe", "referenceId": "P-1"},
        "ownershipPercentage": "30",
        "validFrom": None,
        "validTo": None,
    }
    keys = set(Delivery.objects.values_list("ordering_key", flat=True))
    assert keys == {f"customer:{company.pk}"}


def test_a_bulk_upload_sends_one_event_not_one_per_row(org):
    quiet = EndpointFactory(organisation=org, events=["*"])
    chatty = EndpointFactory(organisation=org, events=["*"], include_import_events=True)
    rows = [[f"Person {n}", f"P-{n}", 1, None] for n in range(5)]
    upload = bulk_upload_create(organisation=org, file=upload_file(xlsx(rows)))

    (body,) = [json.loads(d.body) for d in quiet.deliveries.all()]
    assert body["type"] == "bulk_upload.completed"
    data = body["data"]
    assert data["id"] == upload.pk
    assert (data["status"], data["totalRows"], data["createdCount"]) == ("completed", 5, 5)
    assert "rowErrors" not in data
    chatty_types = sorted(chatty.deliveries.values_list("event_type", flat=True))
    assert (
        chatty_types
        == ["bulk_upload.completed"] + ["client.created"] * 5 + ["customer.created"] * 5
    )


def test_one_write_reads_the_endpoints_once_for_all_its_events(org):
    """A create announces the customer and its first risk score: both reactions share
    one read of the organisation's endpoints, and the next write reads them anew."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    EndpointFactory(organisation=org, events=["customer.created", "risk.changed"])

    def endpoint_reads(reference_id: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            customer_upsert(
                organisation=org,
                data={"referenceId": reference_id, "name": "Jane Doe", "accountTypeId": 1},
            )
        return sum('FROM "webhooks_endpoint"' in q["sql"] for q in captured.captured_queries)

    assert endpoint_reads("P-1") == 1
    EndpointFactory(organisation=org, events=["customer.created"])
    assert endpoint_reads("P-2") == 1
    # The second write saw the endpoint added after the first: one delivery, then two.
    assert [b["data"]["referenceId"] for b in bodies("customer.created")] == ["P-1", "P-2", "P-2"]
    assert [b["type"] for b in bodies("risk.changed")] == ["risk.changed"] * 2


def test_memo_outside_an_announcement_computes_every_time():
    calls = []
    assert events.memo("k", lambda: calls.append(1) or len(calls)) == 1
    assert events.memo("k", lambda: calls.append(1) or len(calls)) == 2


def test_the_payload_and_the_answer_carry_the_score_the_write_gave(org, api):
    """Neither the outbox nor the API answer reads the customer again: the rescoring
    sets the score it writes on the writer's instance."""
    from customers.models import Customer

    EndpointFactory(organisation=org, events=["customer.created", "customer.updated"])
    created = api.post("/api/v1/customers", COMPANY, format="json").json()["data"]
    stored = Customer.objects.get(reference_id="C-1")
    assert stored.risk_level  # scored in the write's transaction
    score = (stored.risk_score, stored.risk_level)
    (body,) = bodies("customer.created")
    assert (body["data"]["riskScore"], body["data"]["riskScoreName"]) == score
    assert (created["riskScore"], created["riskScoreName"]) == score

    moved = {**COMPANY, "identity": {**COMPANY["identity"], "country": "IR"}}
    updated = api.post("/api/v1/customers", moved, format="json").json()["data"]
    stored.refresh_from_db()
    assert stored.risk_score > created["riskScore"]  # a high-risk country scores
    (body,) = bodies("customer.updated")
    assert body["data"]["riskScore"] == updated["riskScore"] == stored.risk_score
