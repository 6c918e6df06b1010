"""onboarding.services: a customer written together with its connects, in one transaction."""

import pytest
from django.core.exceptions import ValidationError

from customers.models import Customer
from onboarding.services import customer_update_with_connections, customer_upsert_with_connections
from relations.models import Connection
from tests.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


def test_connects_written_in_the_same_transaction(org):
    company = CompanyFactory(organisation=org, reference_id="COMP-001")
    result = customer_upsert_with_connections(
        organisation=org,
        data={
            "name": "Jane",
            "referenceId": "550",
            "accountTypeId": 1,
            "connects": [{"referenceId": "COMP-001", "role": "SHAREHOLDER"}],
        },
    )
    assert Connection.objects.filter(
        customer=result.customer, connected_customer=company, role="SHAREHOLDER"
    ).exists()


def test_failing_connects_roll_the_customer_back(org):
    with pytest.raises(ValidationError) as caught:
        customer_upsert_with_connections(
            organisation=org,
            data={
                "name": "Jane",
                "referenceId": "550",
                "accountTypeId": 1,
                "connects": [{"referenceId": "NOPE", "role": "DIRECTOR"}],
            },
        )
    assert "Connected customer(s) not found: NOPE" in caught.value.messages
    assert not Customer.objects.exists()


def test_failing_connects_roll_an_update_back(org):
    PersonFactory(organisation=org, reference_id="550", name="Old")
    with pytest.raises(ValidationError):
        customer_update_with_connections(
            customer=Customer.objects.get(),
            data={"name": "New", "connects": [{"referenceId": "NOPE", "role": "DIRECTOR"}]},
        )
    assert Customer.objects.get().name == "Old"
