"""Customer admin: writes through customers.services / relations.services, service
errors shown on the form, audit of admin writes, links to other apps' pages."""

from decimal import Decimal

import pytest
from django.urls import NoReverseMatch, reverse

from customers.models import AccountType, CustomerFieldDefinition, OnboardingStatus
from organisations.groups import ANALYST
from relations.models import Connection, Role
from tests.admin_support import add_inline_row, change_form_data, make_staff
from tests.factories import (
    CompanyFactory,
    ConnectionFactory,
    FieldDefinitionFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db

CUSTOMERS = "/admin/customers/customer/"


@pytest.fixture
def staff(org):
    return make_staff(org)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def change_url(customer) -> str:
    return f"{CUSTOMERS}{customer.pk}/change/"


def post_change(client, customer, **overrides):
    data = change_form_data(client.get(change_url(customer)))
    data.update(overrides)
    return client.post(change_url(customer), data)


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


def test_add_customer_goes_through_the_service(staff_client, staff, org):
    data = change_form_data(staff_client.get(f"{CUSTOMERS}add/"))
    data.update(
        reference_id="CUS-1",
        name="Zoë Ørsted",
        account_type=AccountType.PERSON,
        given_name="Zoë",
        family_name="Ørsted",
        country="dk",
        phone="+45 32 12 34 56",
    )
    response = staff_client.post(f"{CUSTOMERS}add/", data)
    assert response.status_code == 302, response.context and form_errors(response)

    customer = org.customers.get(reference_id="CUS-1")
    assert customer.country == "DK"  # normalised by the service
    assert customer.phone == "+4532123456"
    assert len(customer.client_number) == 8
    assert "zoe" in customer.search_text  # folded for accent-insensitive search
    record = customer.history.get()
    assert record.history_user == staff
    assert record.history_channel == "admin"
    assert record.history_type == "+"


def test_service_errors_show_on_the_form_not_a_500(staff_client, org):
    customer = PersonFactory(organisation=org, name="Ann Lee")
    response = post_change(staff_client, customer, country="XX", phone="not a phone")
    assert response.status_code == 200
    errors = form_errors(response)
    assert set(errors) == {"country", "phone"}
    customer.refresh_from_db()
    assert customer.country == ""
    assert customer.history.count() == 1  # the rejected save left no history


def test_account_type_is_read_only_once_created(staff_client, org):
    customer = PersonFactory(organisation=org)
    response = staff_client.get(change_url(customer))
    assert "account_type" not in response.context["adminform"].form.fields


def test_customers_are_not_deleted(staff_client, org):
    customer = PersonFactory(organisation=org)
    response = staff_client.get(f"{CUSTOMERS}{customer.pk}/delete/")
    assert response.status_code == 403


def test_change_list_query_count_does_not_grow_with_rows(
    staff_client, org, django_assert_max_num_queries
):
    for _ in range(3):
        PersonFactory(organisation=org)
    with django_assert_max_num_queries(12) as three:
        staff_client.get(CUSTOMERS)
    for _ in range(6):
        CompanyFactory(organisation=org)
    with django_assert_max_num_queries(len(three.captured_queries)):
        response = staff_client.get(CUSTOMERS)
    assert len(response.context["cl"].result_list) == 9


def test_search_is_accent_and_case_insensitive(staff_client, org):
    zoe = PersonFactory(organisation=org, name="Zoë Ørsted", reference_id="Z-1")
    PersonFactory(organisation=org, name="Bob Smith")
    response = staff_client.get(CUSTOMERS, {"q": "ZOE"})
    assert list(response.context["cl"].result_list) == [zoe]


def test_filters_and_risk_level(staff_client, org):
    high = PersonFactory(organisation=org, risk_score=80, risk_level="High risk")
    PersonFactory(organisation=org, risk_score=10, risk_level="Low risk")
    response = staff_client.get(CUSTOMERS, {"risk": "High risk"})
    assert list(response.context["cl"].result_list) == [high]
    assert b"High risk" in response.content


def test_custom_fields_are_shown_once_as_typed_fields(staff_client, org):
    FieldDefinitionFactory(organisation=org, key="segment", name="Customer segment")
    customer = PersonFactory(organisation=org, custom_fields={"segment": "retail", "pep": True})
    response = staff_client.get(change_url(customer))
    form = response.context["adminform"].form
    assert form["cf_segment"].label == "Customer segment"
    assert form["cf_segment"].value() == "retail"
    assert "custom_fields" not in form.fields  # no JSON box
    html = response.content.decode()
    # A value whose definition is gone is kept and shown, not editable.
    assert "<tr><th><code>pep</code></th><td>Yes</td></tr>" in html
    assert html.count("retail") == 1  # once: the input, no second read-only table


# --- connection inlines -----------------------------------------------------------------


def test_inline_adds_a_shareholder_through_the_service(staff_client, staff, org):
    company = CompanyFactory(organisation=org)
    holder = PersonFactory(organisation=org)
    data = change_form_data(staff_client.get(change_url(company)))
    add_inline_row(
        data,
        "connections",
        connected_customer=holder.pk,
        role=Role.SHAREHOLDER,
        ownership_percentage="60",
    )
    response = staff_client.post(change_url(company), data)
    assert response.status_code == 302

    connection = Connection.objects.get()
    assert (connection.customer, connection.connected_customer) == (company, holder)
    assert connection.ownership_percentage == Decimal("60")
    assert connection.organisation == org
    record = connection.history.get()
    assert (record.history_user, record.history_channel) == (staff, "admin")


def test_inline_row_error_is_shown_on_the_row(staff_client, org):
    company = CompanyFactory(organisation=org)
    other = CompanyFactory(organisation=org, reference_id="COMP-001")
    data = change_form_data(staff_client.get(change_url(company)))
    add_inline_row(data, "connections", connected_customer=other.pk, role=Role.UBO)
    response = staff_client.post(change_url(company), data)

    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.prefix == "connections"
    assert formset.forms[0].non_field_errors() == [
        "Role UBO is only valid for Person customers (COMP-001)"
    ]
    assert not Connection.objects.exists()


def test_inline_percentages_over_100_are_refused(staff_client, org):
    company = CompanyFactory(organisation=org)
    first, second = PersonFactory(organisation=org), PersonFactory(organisation=org)
    ConnectionFactory(
        customer=company, connected_customer=first, ownership_percentage=Decimal("70")
    )
    data = change_form_data(staff_client.get(change_url(company)))
    add_inline_row(
        data,
        "connections",
        connected_customer=second.pk,
        role=Role.SHAREHOLDER,
        ownership_percentage="40",
    )
    response = staff_client.post(change_url(company), data)
    assert response.status_code == 200
    row = response.context["inline_admin_formsets"][0].formset.forms[1]
    assert row.errors
    assert Connection.objects.count() == 1


def test_inline_delete_goes_through_the_service(staff_client, staff, org):
    company = CompanyFactory(organisation=org)
    holder = PersonFactory(organisation=org)
    connection = ConnectionFactory(customer=company, connected_customer=holder, role=Role.DIRECTOR)
    data = change_form_data(staff_client.get(change_url(company)))
    data["connections-0-DELETE"] = "on"
    response = staff_client.post(change_url(company), data)
    assert response.status_code == 302
    assert not Connection.objects.exists()
    deletion = Connection.history.filter(id=connection.pk, history_type="-").get()
    assert (deletion.history_user, deletion.history_channel) == (staff, "admin")


def test_connected_to_inline_shows_roles_held_elsewhere(staff_client, org):
    company = CompanyFactory(organisation=org, name="Holdco Ltd")
    person = PersonFactory(organisation=org)
    ConnectionFactory(customer=company, connected_customer=person, role=Role.DIRECTOR)
    response = staff_client.get(change_url(person))
    formsets = {f.formset.prefix: f.formset for f in response.context["inline_admin_formsets"]}
    assert [form.instance.customer for form in formsets["connected_to"].forms] == [company]
    assert list(formsets["connections"].forms) == []


# --- actions ------------------------------------------------------------------------------


def test_approve_action_approves_a_person(staff_client, org):
    person = PersonFactory(organisation=org)
    response = staff_client.post(
        CUSTOMERS, {"action": "approve_selected", "_selected_action": [person.pk]}, follow=True
    )
    assert response.status_code == 200
    person.refresh_from_db()
    assert person.onboarding_status == OnboardingStatus.APPROVED
    assert person.history.latest().history_channel == "admin"


def test_approve_action_reports_kyb_failures(staff_client, org):
    company = CompanyFactory(organisation=org, reference_id="COMP-9")
    response = staff_client.post(
        CUSTOMERS, {"action": "approve_selected", "_selected_action": [company.pk]}, follow=True
    )
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 1
    assert messages[0].startswith("COMP-9: Customer cannot be approved: ")
    company.refresh_from_db()
    assert company.onboarding_status == OnboardingStatus.PENDING


def test_analyst_has_no_approve_action(client, org):
    client.force_login(make_staff(org, username="ana", group=ANALYST))
    response = client.get(CUSTOMERS)
    assert response.status_code == 200
    # A reader may only export.
    choices = response.context["action_form"].fields["action"].choices
    assert [name for name, _ in choices if name] == ["export_xlsx", "export_csv"]
    customer = PersonFactory(organisation=org)
    response = client.post(
        CUSTOMERS, {"action": "approve_selected", "_selected_action": [customer.pk]}
    )
    customer.refresh_from_db()
    assert customer.onboarding_status == OnboardingStatus.PENDING


def test_deactivate_action(staff_client, org):
    customers = [PersonFactory(organisation=org) for _ in range(3)]
    staff_client.post(
        CUSTOMERS,
        {"action": "deactivate_selected", "_selected_action": [c.pk for c in customers[:2]]},
    )
    assert [c.status for c in org.customers.order_by("id")] == ["inactive", "inactive", "active"]


# --- links to other apps' pages ----------------------------------------------------------


def resolves(name: str, *args) -> bool:
    try:
        reverse(name, args=args)
    except NoReverseMatch:
        return False
    return True


def test_change_page_links_only_to_existing_pages(staff_client, org):
    customer = CompanyFactory(organisation=org)
    html = staff_client.get(change_url(customer)).content.decode()
    for name, label in [
        ("admin:customer-map", "Relationship map"),
        ("admin:customer-structure", "Ownership structure"),
    ]:
        if resolves(name, customer.pk):
            assert f'href="{reverse(name, args=[customer.pk])}"' in html
        else:
            assert label not in html
    assert "History" in html


def test_change_list_links_only_to_existing_pages(staff_client):
    html = staff_client.get(CUSTOMERS).content.decode()
    for name, label in [
        ("admin:customers-bulk-upload", "Bulk upload"),
        ("admin:customers-download-template", "Download template"),
    ]:
        if resolves(name):
            assert f'href="{reverse(name)}"' in html
        else:
            assert label not in html


# --- field definitions --------------------------------------------------------------------

FIELDS = "/admin/customers/customerfielddefinition/"


def test_field_definition_created_through_the_service(staff_client, staff, org):
    response = staff_client.post(
        f"{FIELDS}add/",
        {
            "key": "segment",
            "name": "Segment",
            "field_type": "choice",
            "choices": "retail\nsme\n\ncorporate",
        },
    )
    assert response.status_code == 302
    definition = CustomerFieldDefinition.objects.get()
    assert definition.organisation == org
    assert definition.choices == ["retail", "sme", "corporate"]
    assert definition.history.get().history_channel == "admin"


def test_field_definition_errors_come_from_the_service(staff_client, org):
    FieldDefinitionFactory(organisation=org, key="bvn")
    response = staff_client.post(
        f"{FIELDS}add/", {"key": "bvn", "name": "BVN", "field_type": "text", "choices": ""}
    )
    assert response.status_code == 200
    assert form_errors(response) == {"__all__": ["A field with key bvn already exists"]}

    response = staff_client.post(
        f"{FIELDS}add/", {"key": "name", "name": "Name", "field_type": "choice", "choices": ""}
    )
    assert response.status_code == 200
    errors = form_errors(response)
    assert errors["key"][0].startswith("'name' is reserved")
    assert errors["choices"] == ["A choice field needs a non-empty list of strings."]


def test_field_definition_key_and_type_are_read_only_on_change(staff_client, org):
    definition = FieldDefinitionFactory(organisation=org, key="pep", field_type="boolean")
    response = staff_client.post(
        f"{FIELDS}{definition.pk}/change/",
        {"name": "Politically exposed", "required": "on", "choices": ""},
    )
    assert response.status_code == 302
    definition.refresh_from_db()
    assert (definition.key, definition.field_type) == ("pep", "boolean")
    assert (definition.name, definition.required) == ("Politically exposed", True)
