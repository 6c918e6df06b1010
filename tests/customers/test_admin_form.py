"""The customer change form: checklist words, connection row titles, the form →
service mapping with the API's messages, Approve / Reject on the page (audited,
tenant-scoped), the error summary."""

from decimal import Decimal

import pytest

from customers.admin_widgets import connection_title
from customers.models import FieldType, OnboardingStatus
from onboarding.checklist import failures_in_words, kyb_checklist
from onboarding.kyb import kyb_constraint_failures
from organisations.audit import Channel
from organisations.groups import ANALYST
from relations.models import Role
from tests.admin_support import change_form_data, make_staff, make_superuser
from tests.factories import (
    CompanyFactory,
    ConnectionFactory,
    FieldDefinitionFactory,
    OrganisationFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db

CUSTOMERS = "/admin/customers/customer/"


@pytest.fixture
def staff_client(client, org):
    client.force_login(make_staff(org))
    return client


def change_url(customer) -> str:
    return f"{CUSTOMERS}{customer.pk}/change/"


def post_change(client, customer, **overrides):
    data = change_form_data(client.get(change_url(customer)))
    data.update(overrides)
    return client.post(change_url(customer), data)


def errors_of(response) -> dict:
    return response.context["adminform"].form.errors


# --- checklist words ----------------------------------------------------------------------


def test_checklist_words_for_a_company_without_authorised_person(org):
    company = CompanyFactory(organisation=org)
    jane = PersonFactory(organisation=org, name="Jane Doe")
    ConnectionFactory(customer=company, connected_customer=jane, ownership_percentage=Decimal("60"))
    checklist = kyb_checklist(customer=company)
    assert [str(item) for item in checklist.items] == [
        "At least one shareholder — ✔ 1",
        "At least one authorised person — ✗ none yet",
        "Direct shareholdings total at least 51% — ✔ 60%",
    ]
    assert not checklist.passes
    assert checklist.discrepancies == [
        f"Jane Doe ({jane.reference_id}) owns 60% effectively (threshold 25%) "
        "but is not declared as UBO."
    ]
    failures = kyb_constraint_failures(customer=company)
    assert failures_in_words(customer=company, failures=failures) == (
        "Cannot approve: At least one authorised person — ✗ none yet."
    )


def test_checklist_counts_in_words_and_does_not_apply_to_persons(org):
    org.kyb_min_shareholders = 2
    org.save()
    company = CompanyFactory(organisation=org)
    assert str(kyb_checklist(customer=company).items[0]) == "At least two shareholders — ✗ none yet"
    person = PersonFactory(organisation=org)
    assert kyb_checklist(customer=person).applies is False


# --- connection rows ----------------------------------------------------------------------


def test_connection_titles_in_words(org):
    company = CompanyFactory(organisation=org, name="Fjord AS")
    jane = PersonFactory(organisation=org, name="Jane Doe")
    share = ConnectionFactory(
        customer=company, connected_customer=jane, ownership_percentage=Decimal("33.5000")
    )
    signer = ConnectionFactory(
        customer=company, connected_customer=jane, role=Role.AUTHORIZED_PERSON
    )
    assert connection_title(share, party_field="connected_customer") == (
        "Jane Doe — Shareholder 33.5%"
    )
    assert connection_title(share, party_field="customer") == "Shareholder 33.5% of Fjord AS"
    assert connection_title(signer, party_field="connected_customer") == (
        "Jane Doe — Authorised person"
    )


def test_change_page_shows_titles_roles_total_and_checklist(staff_client, org):
    company = CompanyFactory(organisation=org)
    jane = PersonFactory(organisation=org, name="Jane Doe")
    ConnectionFactory(customer=company, connected_customer=jane, ownership_percentage=Decimal("60"))
    html = staff_client.get(change_url(company)).content.decode()
    assert '<span class="connection-title">Jane Doe — Shareholder 60%</span>' in html
    assert '<option value="UBO">UBO</option>' in html
    assert '<option value="AUTHORIZED_PERSON">Authorised person</option>' in html
    assert 'value="60"' in html  # not 60.0000
    assert "60% <a href=" in html  # direct shareholdings total
    assert '<li class="check-fail">At least one authorised person — ✗ none yet</li>' in html
    assert "given_name" not in html  # person fields are not on a company


def test_inline_percentage_errors_read_like_the_api(staff_client, org):
    company = CompanyFactory(organisation=org)
    jane = PersonFactory(organisation=org)
    ConnectionFactory(customer=company, connected_customer=jane, ownership_percentage=50)
    response = post_change(staff_client, company, **{"connections-0-ownership_percentage": "160"})
    assert response.status_code == 200
    row = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert row.errors == {"ownership_percentage": ["Must be greater than 0 and at most 100."]}
    summary = response.context["error_summary"]
    assert summary == [
        {
            "label": "Connections (held in this customer): "
            f"{jane.name} — Shareholder 50% — Ownership percentage",
            "message": "Must be greater than 0 and at most 100.",
            "anchor": "connections-0",
            "row": "1",
        }
    ]
    assert 'href="#connections-0" data-row="connections-0"' in response.content.decode()


# --- form → service -----------------------------------------------------------------------


def test_identification_row_errors_are_the_apis_on_the_right_field(staff_client, org):
    person = PersonFactory(organisation=org, identifications=[])
    response = post_change(
        staff_client,
        person,
        identification_0_type="passport",
        identification_0_number="P1",
        identification_0_issue_date="2020-05-01",
        identification_0_expiration_date="2019-01-01",
    )
    errors = errors_of(response)
    assert errors == {"identification_0_expiration_date": ["Must not be before issueDate."]}
    summary = response.context["error_summary"]
    assert summary[0]["label"] == "Identification 1: expiry date"
    assert summary[0]["anchor"] == "id_identification_0_expiration_date"


def test_identification_number_required_like_the_api(staff_client, org):
    person = PersonFactory(organisation=org, identifications=[])
    response = post_change(staff_client, person, identification_0_type="passport")
    assert errors_of(response) == {"identification_0_number": ["This field is required."]}


def test_address_region_and_country_go_through_the_api_rules(staff_client, org):
    person = PersonFactory(organisation=org)
    response = post_change(
        staff_client, person, address_country="US", address_region_other="ZZ", address_city="X"
    )
    assert errors_of(response) == {
        "address_region": [
            "For US addresses, region must be an ISO 3166-2 subdivision code such as "
            "US-CA or CA (got 'ZZ')."
        ]
    }
    response = post_change(staff_client, person, address_country="QQ")
    assert errors_of(response) == {
        "address_country": [
            "'QQ' is not an ISO 3166-1 alpha-2 country code (for example GB, DE, US)."
        ]
    }
    response = post_change(
        staff_client, person, address_country="CA", address_region="CA-ON", address_city="Ottawa"
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.address == {"country": "CA", "region": "CA-ON", "city": "Ottawa"}
    assert person.history.first().history_channel == Channel.ADMIN


def test_custom_field_values_typed_with_the_apis_messages(staff_client, org):
    FieldDefinitionFactory(organisation=org, key="turnover", field_type=FieldType.NUMBER)
    FieldDefinitionFactory(organisation=org, key="since", field_type=FieldType.DATE)
    FieldDefinitionFactory(
        organisation=org,
        key="tier",
        name="Tier",
        field_type=FieldType.CHOICE,
        choices=["a"],
        required=True,
    )
    person = PersonFactory(organisation=org, custom_fields={"tier": "a"})
    response = post_change(staff_client, person, cf_turnover="lots", cf_since="01/02/2020")
    assert errors_of(response) == {
        "cf_turnover": ['Must be a number (a JSON number or a decimal string such as "12.5").'],
        "cf_since": ["Must be a date in YYYY-MM-DD format."],
    }
    response = post_change(staff_client, person, cf_tier="")
    assert errors_of(response) == {"cf_tier": ["This field is required (Tier)."]}
    response = post_change(staff_client, person, cf_turnover="1e3", cf_since="2020-02-01")
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.custom_fields == {"tier": "a", "turnover": 1000, "since": "2020-02-01"}


def test_a_service_refusal_shows_the_services_message(staff_client, org):
    person = PersonFactory(organisation=org)
    response = post_change(staff_client, person, phone="not a phone")
    assert response.status_code == 200
    assert errors_of(response)["phone"]  # the service's phone rule, on the field
    assert response.context["error_summary"][0]["label"] == "Phone"


# --- approve / reject -----------------------------------------------------------------------


def test_approve_refused_in_words_then_approved_when_the_checklist_holds(staff_client, org):
    company = CompanyFactory(organisation=org)
    jane = PersonFactory(organisation=org)
    ConnectionFactory(customer=company, connected_customer=jane, ownership_percentage=100)
    response = staff_client.post(f"{CUSTOMERS}{company.pk}/approve/", follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert messages == ["Cannot approve: At least one authorised person — ✗ none yet."]
    company.refresh_from_db()
    assert company.onboarding_status == OnboardingStatus.PENDING

    ConnectionFactory(customer=company, connected_customer=jane, role=Role.AUTHORIZED_PERSON)
    response = staff_client.post(f"{CUSTOMERS}{company.pk}/approve/")
    assert response.status_code == 302
    company.refresh_from_db()
    assert company.onboarding_status == OnboardingStatus.APPROVED
    assert company.history.first().history_channel == Channel.ADMIN


def test_approve_is_post_only_and_another_organisations_customer_is_a_404(staff_client, org):
    company = CompanyFactory(organisation=org)
    assert staff_client.get(f"{CUSTOMERS}{company.pk}/approve/").status_code == 405
    other = CompanyFactory(organisation=OrganisationFactory())
    assert staff_client.post(f"{CUSTOMERS}{other.pk}/reject/").status_code == 404
    other.refresh_from_db()
    assert other.onboarding_status == OnboardingStatus.PENDING


def test_reject_needs_the_approve_permission(client, org):
    client.force_login(make_staff(org, username="analyst", group=ANALYST))
    person = PersonFactory(organisation=org)
    response = client.post(f"{CUSTOMERS}{person.pk}/reject/")
    person.refresh_from_db()
    assert person.onboarding_status == OnboardingStatus.PENDING
    assert response.status_code == 403


def test_history_version_and_superuser_add_pages_render(staff_client, client, org):
    person = PersonFactory(
        organisation=org, identifications=[{"type": "passport", "identificationNumber": "P1"}]
    )
    version = person.history.first()
    response = staff_client.get(f"{CUSTOMERS}{person.pk}/history/{version.history_id}/")
    assert response.status_code == 200
    assert response.context["adminform"].form["identification_0_number"].value() == "P1"

    client.force_login(make_superuser())
    response = client.get(f"{CUSTOMERS}add/")
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert {"organisation", "given_name", "legal_name", "identification_0_type"} <= set(form.fields)
