"""Client relations (seed 004), related persons (seed 003), the migration workflow
and X-Request-ID."""

import copy
import json

import pytest

from clients.models import ClientRelation, ServiceProviderRecord
from customers.models import Customer, OnboardingStatus
from kycregistry import events
from relations.models import Connection
from tests.clients.test_clients_api import CORPORATE, INDIVIDUAL, JOHN_DOE, _create
from tests.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


def relations_url(client):
    return f"/api/v1/clients/{client['id']}/relations"


def test_seed_add_one_relation_then_read_patch_delete(api):
    company = _create(
        api,
        {
            **CORPORATE,
            "data": {
                "client": {k: v for k, v in CORPORATE["data"]["client"].items() if k != "relations"}
            },
        },
    )
    request = {
        "workflow": {"code": "direct"},
        "data": {"clientRelation": JOHN_DOE},
        "connect": {},
        "metadata": {},
    }
    response = api.post(relations_url(company), request, format="json")
    assert response.status_code == 201, response.json()
    relation = response.json()["data"]["clientRelation"]
    assert relation["clientId"] == company["id"]
    assert relation["relation"] == "director"
    assert relation["identity"] == JOHN_DOE["identity"]
    assert relation["profile"] == JOHN_DOE["profile"]
    url = f"{relations_url(company)}/{relation['id']}"
    assert api.get(url).json()["data"]["clientRelation"] == relation

    patch = {
        "workflow": {"code": "direct"},
        "data": {
            "clientRelation": {
                "relation": "director-and-shareholder",
                "profile": {"identityType": "individual", "phone": "+441234567891"},
            }
        },
        "connect": {},
        "metadata": {},
    }
    response = api.patch(url, patch, format="json")
    assert response.status_code == 200, response.json()
    patched = response.json()["data"]["clientRelation"]
    assert patched["id"] == relation["id"]
    assert patched["relation"] == "director-and-shareholder"
    assert patched["profile"]["phone"] == "+441234567891"
    stored = Customer.objects.get(public_id=company["id"])
    assert sorted(Connection.objects.filter(customer=stored).values_list("role", flat=True)) == [
        "DIRECTOR",
        "SHAREHOLDER",
    ]
    listed = api.get(relations_url(company)).json()
    assert listed["metadata"] == {
        "page": {"size": 20, "totalElements": 1, "totalPages": 1, "number": 0}
    }
    assert listed["data"]["clientRelations"] == [patched]

    assert api.delete(url).status_code == 200
    assert not Connection.objects.filter(customer=stored).exists()
    assert api.get(url).json()["message"] == "Client relation not found"


def test_seed_add_relations_list_and_limits(api):
    company = _create(api, CORPORATE)
    request = {"workflow": {"code": "direct"}, "data": {"clientRelations": [JOHN_DOE]}}
    response = api.post(relations_url(company), request, format="json")
    assert response.status_code == 201
    [relation] = response.json()["data"]["clientRelations"]
    assert relation["identity"] == JOHN_DOE["identity"]
    too_many = {"data": {"clientRelations": [JOHN_DOE] * 11}}
    response = api.post(relations_url(company), too_many, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == (
        "data.clientRelations: At most 10 relations in one request (got 11); add more with "
        "further requests to /clients/{id}/relations."
    )
    both = {"data": {"clientRelation": JOHN_DOE, "clientRelations": [JOHN_DOE]}}
    response = api.post(relations_url(company), both, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == (
        "data: Send either clientRelation (one) or clientRelations (a list), not both."
    )
    assert ClientRelation.objects.count() == 2


def test_an_individual_has_no_relations(api):
    person = _create(api, INDIVIDUAL)
    response = api.post(
        relations_url(person), {"data": {"clientRelation": JOHN_DOE}}, format="json"
    )
    assert response.status_code == 400
    assert (
        response.json()["message"] == "data.clientRelation: Only corporate clients have relations."
    )


# --- seed 003 --------------------------------------------------------------------------


def related_url(company):
    return f"/api/v1/customers/business/{company.public_id}/related-persons"


def test_seed003_add_shareholder(api, org):
    company = CompanyFactory(organisation=org)
    person = PersonFactory(organisation=org)
    request = {
        "relation": {
            "userId": str(person.public_id),
            "role": "SHAREHOLDER",
            "ownershipPercentage": "51",
            "representingRange": {"start": "2024-01-01"},
        }
    }
    response = api.post(related_url(company), request, format="json", HTTP_X_REQUEST_ID="abc-1")
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["traceId"] == "abc-1" == response["X-Request-ID"]
    assert answer["message"] == "Person relation added successfully"
    assert answer["data"]["personRelations"] == [
        {"userId": str(person.public_id), "role": "SHAREHOLDER", "ownershipPercentage": "51"}
    ]
    assert answer["data"]["action"] == "ADD"
    assert answer["data"]["constraints"][0] == {"name": "min_shareholders", "holds": True}
    connection = Connection.objects.get(customer=company)
    assert str(connection.valid_from) == "2024-01-01" and connection.valid_to is None
    # The same person and role over an overlapping range: an update.
    request["relation"]["ownershipPercentage"] = "60"
    again = api.post(related_url(company), request, format="json").json()
    assert again["data"]["action"] == "UPDATE"
    assert again["data"]["personRelations"][0]["ownershipPercentage"] == "60"
    assert Connection.objects.filter(customer=company).count() == 1


def test_seed003_errors_answer_trace_bodies(api, org):
    company = CompanyFactory(organisation=org)
    person = PersonFactory(organisation=org)
    shareholder = {
        "userId": person.reference_id,
        "role": "SHAREHOLDER",
        "representingRange": {"start": "2024-01-01"},
    }
    response = api.post(related_url(company), {"relation": shareholder}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "traceId": response["X-Request-ID"],
        "message": 'relation.ownershipPercentage: Required for SHAREHOLDER (e.g. "51", "30.5").',
    }
    missing = {**shareholder, "userId": "nobody", "ownershipPercentage": "10"}
    response = api.post(related_url(company), {"relation": missing}, format="json")
    assert response.status_code == 404
    assert response.json()["message"] == "User nobody not found"


def test_seed003_after_approval_flags_the_company(api, org, announced):
    company = CompanyFactory(organisation=org, onboarding_status=OnboardingStatus.APPROVED)
    person = PersonFactory(organisation=org)
    relation = {
        "userId": str(person.public_id),
        "role": "REPRESENTATIVE",
        "representingRange": {"start": "2024-01-01", "end": "2030-12-31"},
    }
    response = api.post(related_url(company), {"relation": relation}, format="json")
    assert response.status_code == 201
    company.refresh_from_db()
    assert company.needs_review
    added = [e for e in announced if isinstance(e, events.ConnectionsChanged) and e.added]
    assert len(added) == 1


def test_one_rule_three_surfaces(api, org):
    """A future birth date is refused the same way through /customers, /clients and
    (for the related person's data) the relation's PATCH."""
    message = "Must not be in the future."
    customers = api.post(
        "/api/v1/customers",
        {
            "referenceId": "P1",
            "accountTypeId": 1,
            "name": "A B",
            "identity": {"givenName": "A", "familyName": "B", "birthDate": "2999-01-01"},
        },
        format="json",
    )
    body = copy.deepcopy(INDIVIDUAL)
    body["data"]["client"]["identity"]["birthDate"] = "2999-01-01"
    clients = api.post("/api/v1/clients", body, format="json")
    assert customers.status_code == clients.status_code == 400
    assert (
        customers.json()["errors"]["identity.birthDate"]
        == clients.json()["errors"]["data.client.identity.birthDate"]
    )
    assert any(message in m for m in clients.json()["errors"]["data.client.identity.birthDate"])
    company = CompanyFactory(organisation=org)
    person = PersonFactory(organisation=org)
    bad = {
        "userId": str(person.public_id),
        "role": "SHAREHOLDER",
        "ownershipPercentage": "150",
        "representingRange": {"start": "2024-01-01"},
    }
    related = api.post(related_url(company), {"relation": bad}, format="json")
    direct = api.post(
        f"/api/v1/customers/{company.reference_id}/connections",
        {"referenceId": person.reference_id, "role": "SHAREHOLDER", "ownershipPercentage": "150"},
        format="json",
    )
    assert related.status_code == direct.status_code == 400
    assert related.json()["message"].split(": ", 1)[1] in direct.json()["message"]


# --- migration ---------------------------------------------------------------------------

RECORD = {"sourceId": "rb-1", **INDIVIDUAL["data"]["client"]}
MIGRATION = {
    "workflow": {"code": "migration"},
    "data": {"sourceId": "rb-1"},
    "connect": {"type": "explicit", "serviceProvider": "railsbank"},
    "metadata": {},
}


def load(api, *records):
    text = "\n".join(json.dumps(r) for r in records)
    return api.post(
        "/api/v1/service-providers/railsbank/records",
        text,
        content_type="application/x-ndjson",
    )


def test_migration_workflow(api, org):
    response = load(api, RECORD)
    assert response.status_code == 201, response.json()
    assert response.json()["data"] == {"serviceProvider": "railsbank", "loaded": 1}
    seen = []
    events.subscribe(events.ClientConnected, seen.append)
    try:
        response = api.post("/api/v1/clients", MIGRATION, format="json")
    finally:
        events.unsubscribe(events.ClientConnected, seen.append)
    assert response.status_code == 201, response.json()
    answer = response.json()
    record = ServiceProviderRecord.objects.get()
    link = {"id": str(record.connection_id), "serviceProvider": "railsbank"}
    assert answer["connect"]["connection"] == link
    assert answer["data"]["client"]["fullName"] == "Canay Özel"
    assert [(e.service_provider, e.connection_id) for e in seen] == [("railsbank", link["id"])]
    client_id = answer["data"]["client"]["id"]
    shown = api.get(f"/api/v1/clients/{client_id}?metadata.include=connect.connections").json()
    assert shown["connect"] == {"connections": [link]}
    assert shown["metadata"] == {"includeConnections": True}
    again = api.post("/api/v1/clients", MIGRATION, format="json")
    assert again.status_code == 409
    assert again.json()["message"] == (
        "Client with sourceId rb-1 of service provider railsbank already exists"
    )


def test_migration_unknown_provider_and_source(api):
    response = api.post("/api/v1/clients", MIGRATION, format="json")
    assert response.status_code == 404
    assert response.json()["message"] == "Service provider railsbank not found"
    load(api, RECORD)
    other = copy.deepcopy(MIGRATION)
    other["data"]["sourceId"] = "rb-2"
    response = api.post("/api/v1/clients", other, format="json")
    assert response.status_code == 404
    assert response.json()["message"] == "Record rb-2 not found at service provider railsbank"


def test_records_are_validated_on_load(api):
    bad = {**RECORD, "identity": {**RECORD["identity"], "givenName": ""}}
    response = load(api, bad)
    assert response.status_code == 400
    assert response.json()["message"].startswith("line 1.identity.givenName:")
    assert not ServiceProviderRecord.objects.exists()


# --- X-Request-ID --------------------------------------------------------------------------


def test_request_id_round_trip(api):
    assert api.get("/api/v1/clients", HTTP_X_REQUEST_ID="req-42")["X-Request-ID"] == "req-42"
    generated = api.get("/api/v1/customers", HTTP_X_REQUEST_ID="bad id\x7f")["X-Request-ID"]
    assert generated != "bad id\x7f" and len(generated) == 36
    assert api.get("/api/v1/nowhere")["X-Request-ID"]


def test_read_only_key_cannot_write(readonly_api):
    response = readonly_api.post("/api/v1/clients", INDIVIDUAL, format="json")
    assert response.status_code == 403
    assert readonly_api.get("/api/v1/clients").status_code == 200
