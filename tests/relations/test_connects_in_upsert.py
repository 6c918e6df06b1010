"""`connects` in POST /api/v1/customers (seed 001): the connections' full replacement, in the same
transaction as the customer."""

import pytest

from customers.models import Customer
from relations.models import Connection, Role
from tests.factories import CompanyFactory, ConnectionFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def holders(org):
    return {
        "COMP-001": CompanyFactory(organisation=org, reference_id="COMP-001"),
        "TRUST-002": PersonFactory(organisation=org, reference_id="TRUST-002"),
        "DIR-003": PersonFactory(organisation=org, reference_id="DIR-003"),
    }


def post(api, **body):
    return api.post("/api/v1/customers", body, format="json")


def connections_of(reference_id):
    return [
        (c.connected_customer.reference_id, c.role)
        for c in Connection.objects.filter(customer__reference_id=reference_id)
        .select_related("connected_customer")
        .order_by("id")
    ]


def test_create_with_connects_as_in_seed_001(api, holders):
    response = post(
        api,
        name="Holding Ltd",
        referenceId="550",
        accountTypeId=2,
        connects=[
            {"referenceId": "DIR-003", "role": "DIRECTOR"},
            {"referenceId": "TRUST-002", "role": "UBO"},
        ],
    )
    assert response.status_code == 201, response.json()
    assert response.json()["message"] == "Customers created successfully"
    assert connections_of("550") == [("DIR-003", "DIRECTOR"), ("TRUST-002", "UBO")]


def test_update_with_connects_replaces_the_list_and_keeps_retained_ids(api, org, holders):
    customer = CompanyFactory(organisation=org, reference_id="550")
    kept = ConnectionFactory(
        customer=customer, connected_customer=holders["TRUST-002"], role=Role.UBO
    )
    ConnectionFactory(customer=customer, connected_customer=holders["DIR-003"], role=Role.DIRECTOR)

    response = post(
        api,
        name=customer.name,
        referenceId="550",
        accountTypeId=2,
        connects=[
            {"referenceId": "TRUST-002", "role": "UBO"},
            {"referenceId": "COMP-001", "role": "SHAREHOLDER", "ownershipPercentage": "51"},
        ],
    )

    assert response.status_code == 200, response.json()
    assert response.json()["message"] == "Customer updated successfully"
    assert connections_of("550") == [("TRUST-002", "UBO"), ("COMP-001", "SHAREHOLDER")]
    assert Connection.objects.filter(customer=customer).first().pk == kept.pk


def test_update_without_connects_leaves_connections_alone(api, org, holders):
    customer = CompanyFactory(organisation=org, reference_id="550")
    ConnectionFactory(customer=customer, connected_customer=holders["DIR-003"], role=Role.DIRECTOR)
    response = post(api, name="Renamed", referenceId="550", accountTypeId=2)
    assert response.status_code == 200
    assert connections_of("550") == [("DIR-003", "DIRECTOR")]


def test_empty_connects_removes_all(api, org, holders):
    customer = CompanyFactory(organisation=org, reference_id="550")
    ConnectionFactory(customer=customer, connected_customer=holders["DIR-003"], role=Role.DIRECTOR)
    response = post(api, name=customer.name, referenceId="550", accountTypeId=2, connects=[])
    assert response.status_code == 200
    assert connections_of("550") == []


def test_unknown_connected_customer_creates_nothing(api, holders):
    response = post(
        api,
        name="Holding Ltd",
        referenceId="550",
        accountTypeId=2,
        connects=[{"referenceId": "UNKNOWN-REF", "role": "DIRECTOR"}],
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Connected customer(s) not found: UNKNOWN-REF"
    assert not Customer.objects.filter(reference_id="550").exists()


def test_wrong_account_type_leaves_the_update_undone(api, org, holders):
    customer = CompanyFactory(organisation=org, reference_id="550", name="Old name")
    response = post(
        api,
        name="New name",
        referenceId="550",
        accountTypeId=2,
        connects=[{"referenceId": "COMP-001", "role": "UBO"}],
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Role UBO is only valid for Person customers (COMP-001)"
    customer.refresh_from_db()
    assert customer.name == "Old name"


def test_invalid_connects_item_is_named(api, holders):
    response = post(
        api,
        name="Holding Ltd",
        referenceId="550",
        accountTypeId=2,
        connects=[{"referenceId": "DIR-003", "role": "OWNER"}],
    )
    assert response.status_code == 400
    assert response.json()["message"] == (
        'connects[0].role: Unknown role "OWNER". Use one of UBO, DIRECTOR, SHAREHOLDER, '
        "AUTHORIZED_PERSON, BANK_ACCOUNT, ACCOUNT_HOLDER"
    )
    assert not Customer.objects.filter(reference_id="550").exists()


def test_connects_not_a_list(api):
    response = post(api, name="Holding Ltd", referenceId="550", accountTypeId=2, connects="x")
    assert response.status_code == 400
    assert response.json()["message"] == "connects must be a list"
    assert not Customer.objects.filter(reference_id="550").exists()


def test_inline_customers_in_connects(api, org):
    response = post(
        api,
        name="I.F Technology Ltd",
        referenceId="IF-1",
        accountTypeId=2,
        connects=[
            {
                "customer": {
                    "referenceId": "JOHN-1",
                    "name": "John Doe",
                    "accountTypeId": 1,
                    "identity": {"givenName": "John", "familyName": "Doe", "country": "GB"},
                },
                "role": "director-and-shareholder",
                "ownershipPercentage": "40",
            }
        ],
    )
    assert response.status_code == 201, response.json()
    assert connections_of("IF-1") == [("JOHN-1", "DIRECTOR"), ("JOHN-1", "SHAREHOLDER")]
    john = Customer.objects.get(organisation=org, reference_id="JOHN-1")
    assert john.name == "John Doe"
    assert john.given_name == "John"


def test_invalid_inline_customer_is_reported_under_its_item(api):
    response = post(
        api,
        name="I.F Technology Ltd",
        referenceId="IF-1",
        accountTypeId=2,
        connects=[{"customer": {"referenceId": "JOHN-1", "accountTypeId": 9}, "role": "UBO"}],
    )
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {
        "connects[0].customer.accountTypeId": ["Must be 1 (Person) or 2 (Company)."],
        "connects[0].customer.name": ["This field is required."],
    }
    assert not Customer.objects.filter(reference_id__in=["IF-1", "JOHN-1"]).exists()


def test_other_organisations_reference_ids_are_not_found(api, other_org):
    PersonFactory(organisation=other_org, reference_id="THEIRS")
    response = post(
        api,
        name="Holding Ltd",
        referenceId="550",
        accountTypeId=2,
        connects=[{"referenceId": "THEIRS", "role": "UBO"}],
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Connected customer(s) not found: THEIRS"
