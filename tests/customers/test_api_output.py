"""The customer JSON is built by a plain function (customer_json) for speed; it must be
byte-for-byte what the output serializer, which documents it, gives."""

from datetime import UTC, date, datetime

import pytest
from rest_framework.renderers import JSONRenderer

from customers.api.serializers import CustomerOutputSerializer, customer_json
from customers.models import Customer, CustomerStatus, OnboardingStatus
from customers.selectors import field_definitions_for
from tests.factories import CompanyFactory, FieldDefinitionFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers(org):
    FieldDefinitionFactory(organisation=org, key="segment", name="Segment")
    FieldDefinitionFactory(organisation=org, key="score", name="Score", field_type="number")
    person = PersonFactory(
        organisation=org,
        reference_id="P-1",
        given_name="Zoë",
        family_name="Ångström",
        birth_date=date(1980, 2, 29),
        country="GB",
        identifications=[{"type": "passport", "identificationNumber": "X1"}],
        address={"country": "GB", "city": "Leeds"},
        phone="+441234567890",
        email="zoe@example.com",
        custom_fields={"segment": "retail", "score": 12.5, "orphan": "hidden"},
        risk_score=80,
        last_ip_address="10.0.0.1",
        last_user_agent="curl/8",
        last_screening_date=datetime(2025, 6, 27, 9, 23, 0, 790_123, tzinfo=UTC),
        monitored=True,
        external_id="EXT-1",
    )
    bare = PersonFactory(organisation=org, reference_id="P-2", given_name="", family_name="")
    company = CompanyFactory(
        organisation=org,
        reference_id="C-1",
        incorporation_date=date(2001, 1, 1),
        corporation_type="LLC",
        custom_fields={"segment": "corporate"},
        risk_score=0,
    )
    inactive = CompanyFactory(organisation=org, reference_id="C-2", legal_name="")
    inactive.status = CustomerStatus.INACTIVE
    inactive.onboarding_status = OnboardingStatus.APPROVED
    inactive.save()
    return [person, bare, company, inactive]


def test_customer_json_is_the_serializers_output_byte_for_byte(org, customers):
    definitions = list(field_definitions_for(organisation=org))
    renderer = JSONRenderer()
    for customer in [*customers, *Customer.objects.order_by("id")]:
        expected = CustomerOutputSerializer(customer, context={"definitions": definitions}).data
        assert renderer.render(customer_json(customer, definitions)) == renderer.render(expected)


def test_detail_answer_is_unchanged_in_shape(api, customers):
    data = api.get("/api/v1/customers/P-1").json()["data"]
    assert list(data)[-3:] == ["customFields", "customerMappedField", "connectionCounts"]
    assert data["customFields"] == {"score": 12.5, "segment": "retail"}
    assert data["lastScreeningDate"] == "2025-06-27T09:23:00.790Z"
    assert data["organizationId"] == str(customers[0].organisation_id)


def test_connection_counts_read_with_the_customer_are_the_selectors(api, org, customers):
    from relations.selectors import connection_counts
    from tests.factories import ConnectionFactory

    person, bare, company, inactive = customers
    for holder, role in ((person, "DIRECTOR"), (bare, "DIRECTOR"), (person, "UBO")):
        ConnectionFactory(customer=company, connected_customer=holder, role=role)
    ConnectionFactory(customer=inactive, connected_customer=company, role="SHAREHOLDER")
    ConnectionFactory(customer=inactive, connected_customer=person, role="AUTHORIZED_PERSON")
    for customer in customers:
        shown = api.get(f"/api/v1/customers/{customer.reference_id}").json()["data"]
        assert shown["connectionCounts"] == connection_counts(customer=customer)
    assert api.get("/api/v1/customers/C-1").json()["data"]["connectionCounts"] == {
        "total": 3,
        "byRole": {"DIRECTOR": 2, "UBO": 1},
        "heldTotal": 1,
        "heldByRole": {"SHAREHOLDER": 1},
    }


def test_address_parts_come_in_the_documented_order_on_every_database(api, org):
    """jsonb (PostgreSQL) keeps keys in its own order; the answer does not."""
    address = {
        "refinement": "Flat 2",
        "postalCode": "LS1 1AA",
        "houseNumber": "5",
        "street": "Briggate",
        "city": "Leeds",
        "region": "England",
        "country": "GB",
    }
    api.post(
        "/api/v1/customers",
        {
            "referenceId": "P-9",
            "name": "Jane Doe",
            "accountTypeId": 1,
            "profile": {"residentialAddress": address},
        },
        format="json",
    )
    shown = api.get("/api/v1/customers/P-9").json()["data"]["profile"]["residentialAddress"]
    assert list(shown) == [
        "country",
        "region",
        "city",
        "street",
        "houseNumber",
        "postalCode",
        "refinement",
    ]
    assert shown == address
