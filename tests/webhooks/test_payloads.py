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


def key_paths(value, prefix=""):
    """Every key of a JSON value with its path, in order: the shape, byte for byte."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{prefix}{key}"
            yield from key_paths(item, f"{prefix}{key}.")


# Seed 004's `connection-created` example, as the seed prints it.
SEED_CONNECTION_CREATED = {
    "webhook": {"module": "clients", "type": "connection-created"},
    "data": {
        "client": {
            "id": "00000000-0000-0000-0000-000000000000",
            "clientNumber": "20663251",
            "status": "active",
            "identity": {
                "type": "corporate",
                "legalName": "I.F Technology Ltd",
                "incorporationDate": "2020-01-01",
                "country": "GB",
            },
            "profile": {
                "identityType": "corporate",
                # Not in this example, required of a corporate client by the seed: its
                # place is the one the seed's corporate examples give it.
                "registrationAddress": {
                    "country": "GB",
                    "region": "England",
                    "city": "London",
                    "street": "Baker Street",
                    "houseNumber": "221B",
                    "postalCode": "XYZ ABC",
                },
                "phone": "+441234567890",
            },
            "fullName": "I.F Technology Ltd",
        }
    },
    "connect": {
        "connection": {"id": "5ffc8b9c-3073-4625-a55b-4ae69d657cc3", "serviceProvider": "railsbank"}
    },
    "metadata": {},
}


def test_a_migrated_client_sends_seed_004s_connection_created(org, api):
    """The migration workflow, end to end: the body has the seed's keys in the seed's
    order, at every level, with this client's values."""
    seed_client = SEED_CONNECTION_CREATED["data"]["client"]
    record = {
        "sourceId": "rb-7",
        "identity": seed_client["identity"],
        "profile": seed_client["profile"],
    }
    loaded = api.post(
        "/api/v1/service-providers/railsbank/records",
        json.dumps(record),
        content_type="application/x-ndjson",
    )
    assert loaded.status_code == 201, loaded.json()
    EndpointFactory(organisation=org, events=["client.connection-created"])
    migration = {
        "workflow": {"code": "migration"},
        "data": {"sourceId": "rb-7"},
        "connect": {"type": "explicit", "serviceProvider": "railsbank"},
        "metadata": {},
    }
    answer = api.post("/api/v1/clients", migration, format="json")
    assert answer.status_code == 201, answer.json()

    (delivery,) = Delivery.objects.all()
    body = json.loads(delivery.body)
    assert list(key_paths(body)) == list(key_paths(SEED_CONNECTION_CREATED))
    client = answer.json()["data"]["client"]
    assert body["data"]["client"] == {
        **seed_client,
        "id": client["id"],
        "clientNumber": client["clientNumber"],
    }
    connection = answer.json()["connect"]["connection"]
    assert body["connect"] == {"connection": connection}
    assert connection["serviceProvider"] == "railsbank"


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
    EndpointFactory(
        organisation=org,
        events=["connection.created", "connection.updated", "connection.removed"],
    )
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
    items = parse_connects(
        [{"referenceId": "P-1", "role": "SHAREHOLDER", "ownershipPercentage": 45.5}]
    )
    connections_replace(customer=company, items=items)
    (updated,) = bodies("connection.updated")
    assert updated["data"]["id"] == str(connection.pk)
    assert (updated["data"]["customerReferenceId"], updated["data"]["ownershipPercentage"]) == (
        "C-1",
        "45.5",
    )
    connection.refresh_from_db()
    connection_remove(connection=connection)
    (removed,) = bodies("connection.removed")
    assert removed["data"] == {
        "customerReferenceId": "C-1",
        "id": str(connection.pk),
        "role": "SHAREHOLDER",
        "connectedCustomer": {"name": "Jane Doe", "referenceId": "P-1"},
        "ownershipPercentage": "45.5",
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
