"""`session.updated`, `risk.changed` and `screening.hit` reach subscribed endpoints
through the outbox, written in the transaction of the change that caused them."""

import json

import pytest

from tests.factories import PersonFactory
from tests.screening.factories import SANCTIONS, upload_list
from tests.webhooks.factories import EndpointFactory
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

EVENTS = ["session.updated", "risk.changed", "screening.hit"]


def bodies(event_type: str) -> list[dict]:
    return [
        json.loads(d.body) for d in Delivery.objects.filter(event_type=event_type).order_by("pk")
    ]


def test_a_declined_session_sends_the_session_and_the_risk_change(api, org):
    EndpointFactory(organisation=org, events=EVENTS)
    EndpointFactory(organisation=org, events=["customer.created"])  # not subscribed to these
    response = api.post(
        "/api/v1/sessions", {"clientId": "P-1", "status": "in_progress"}, format="json"
    )
    assert response.status_code == 201, response.json()
    session_id = response.json()["data"]["id"]
    Delivery.objects.all().delete()

    response = api.patch(f"/api/v1/sessions/{session_id}", {"status": "declined"}, format="json")
    assert response.status_code == 200, response.json()

    (session,) = bodies("session.updated")
    assert session["type"] == "session.updated"
    assert session["data"]["id"] == session_id
    assert session["data"]["status"] == "declined"
    assert session["data"]["customerReferenceId"] == "P-1"
    (risk,) = bodies("risk.changed")
    profile = api.get("/api/v1/customers/P-1/risk-profile").json()["data"]
    assert risk["data"]["customerReferenceId"] == "P-1"
    assert risk["data"]["newScore"] == profile["riskScore"] > risk["data"]["oldScore"]
    assert risk["data"]["newLevel"] == profile["riskScoreName"]
    assert Delivery.objects.filter(endpoint__events=["customer.created"]).count() == 0


def test_a_new_hit_sends_screening_hit(api, org):
    EndpointFactory(organisation=org, events=EVENTS)
    upload_list(org, SANCTIONS)
    PersonFactory(
        organisation=org,
        reference_id="P-9",
        given_name="Sergei",
        family_name="Petrov",
        name="Sergei Petrov",
    )
    response = api.post("/api/v1/customers/P-9/screen", {}, format="json")
    assert response.status_code == 200, response.json()
    hits = response.json()["data"]
    assert hits, "the sanctioned name is found"

    sent = bodies("screening.hit")
    assert [body["data"]["id"] for body in sent] == [hit["id"] for hit in hits]
    assert sent[0]["data"]["entry"]["sourceId"] == "ru-petrov"
    assert sent[0]["data"]["matchedParty"] == {
        "referenceId": "P-9",
        "name": "Sergei Petrov",
        "role": "SELF",
    }
