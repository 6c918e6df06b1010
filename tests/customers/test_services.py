"""customers.services: upsert, update, deactivate, onboarding, admin save, field defs."""

import itertools

import pytest
from django.core.exceptions import ValidationError

import customers.models
from customers.models import Customer
from customers.services import (
    CustomerExists,
    customer_deactivate,
    customer_save,
    customer_set_onboarding_status,
    customer_update,
    customer_upsert,
    field_definition_create,
    field_definition_update,
)
from organisations.audit import Channel, audit_context
from tests.factories import FieldDefinitionFactory, PersonFactory

pytestmark = pytest.mark.django_db


def test_upsert_creates_then_updates(org):
    first = customer_upsert(
        organisation=org, data={"name": "A", "referenceId": "R1", "accountTypeId": 1}
    )
    assert first.created and first.customer.pk
    second = customer_upsert(
        organisation=org, data={"name": "B", "referenceId": "R1", "accountTypeId": 1}
    )
    assert not second.created
    assert second.customer.pk == first.customer.pk
    assert Customer.objects.get().name == "B"


def test_only_create_raises(org):
    PersonFactory(organisation=org, reference_id="550")
    with pytest.raises(CustomerExists) as caught:
        customer_upsert(
            organisation=org,
            data={"name": "A", "referenceId": "550", "accountTypeId": 1},
            only_create=True,
        )
    assert str(caught.value) == "Customer with referenceId 550 already exists"


def test_reject_unknown_argument_overrides_the_organisation(org):
    data = {"name": "A", "referenceId": "R1", "accountTypeId": 1, "x": 1}
    with pytest.raises(ValidationError):
        customer_upsert(organisation=org, data=data, reject_unknown=True)
    assert customer_upsert(organisation=org, data=data).ignored_fields == ["x"]


def test_taken_client_number_is_redrawn(org, monkeypatch):
    PersonFactory(organisation=org, client_number="11111111")
    numbers = itertools.chain(["11111111"], itertools.repeat("22222222"))
    monkeypatch.setattr(customers.models, "new_client_number", lambda: next(numbers))
    result = customer_upsert(
        organisation=org, data={"name": "A", "referenceId": "R1", "accountTypeId": 1}
    )
    assert result.created
    assert result.customer.client_number == "22222222"


def test_update_without_changes_does_not_write(org):
    customer = PersonFactory(organisation=org, reference_id="R1", name="A")
    before = customer.history.count()
    result = customer_update(customer=customer, data={"name": "A"})
    assert result.customer.history.count() == before


def test_deactivate_is_idempotent(org):
    customer = PersonFactory(organisation=org)
    customer_deactivate(customer=customer)
    customer_deactivate(customer=customer)
    assert Customer.objects.get().status == "inactive"
    assert customer.history.count() == 2


def test_onboarding_status(org):
    customer = PersonFactory(organisation=org)
    assert customer_set_onboarding_status(
        customer=customer, status="APPROVED"
    ).onboarding_status == ("APPROVED")
    customer_set_onboarding_status(customer=customer, status="APPROVED")
    assert customer.history.count() == 2
    with pytest.raises(ValidationError) as caught:
        customer_set_onboarding_status(customer=customer, status="DONE")
    assert caught.value.message_dict == {
        "onboardingStatus": ["Must be one of: PENDING, APPROVED, REJECTED."]
    }


def test_history_names_the_channel(org):
    with audit_context(channel=Channel.COMMAND):
        result = customer_upsert(
            organisation=org, data={"name": "A", "referenceId": "R1", "accountTypeId": 1}
        )
    record = result.customer.history.get()
    assert record.history_channel == "command"
    assert record.history_api_key_id is None


def test_customer_save_normalises_and_validates(org):
    customer = Customer(
        organisation=org,
        reference_id="R1",
        name="A",
        account_type=1,
        country="gb",
        phone="+44 1234 567890",
        address={"country": "us", "region": "ca"},
    )
    customer_save(customer=customer)
    customer.refresh_from_db()
    assert (customer.country, customer.phone) == ("GB", "+441234567890")
    assert customer.address == {"country": "US", "region": "US-CA"}

    customer.address = {"country": "US", "region": "California"}
    customer.phone = "0801"
    with pytest.raises(ValidationError) as caught:
        customer_save(customer=customer)
    assert caught.value.message_dict == {
        "address": [
            "residentialAddress.region: For US addresses, region must be an ISO 3166-2 "
            "subdivision code such as US-CA or CA (got 'California')."
        ],
        "phone": [
            "Must be an international phone number: '+', the country code and the number, "
            "for example +441234567890."
        ],
    }


def test_customer_save_reports_duplicate_reference(org):
    PersonFactory(organisation=org, reference_id="R1")
    with pytest.raises(ValidationError):
        customer_save(
            customer=Customer(organisation=org, reference_id="R1", name="B", account_type=1)
        )
    assert Customer.objects.count() == 1


def test_field_definition_update_without_changes_does_not_write(org):
    definition = field_definition_create(organisation=org, data={"key": "bvn", "name": "BVN"})
    field_definition_update(definition=definition, data={"name": "BVN", "key": "bvn"})
    assert definition.history.count() == 1


def test_field_definition_choices_only_for_choice(org):
    definition = FieldDefinitionFactory(
        organisation=org, key="tier", field_type="choice", choices=["a"]
    )
    with pytest.raises(ValidationError) as caught:
        field_definition_update(definition=definition, data={"choices": []})
    assert caught.value.message_dict == {
        "choices": ["A choice field needs a non-empty list of strings."]
    }
