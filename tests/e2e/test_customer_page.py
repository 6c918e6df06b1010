"""The customer change page in a real browser (system Chromium) at 1,280×800: no
horizontal scroll, Approve refused with the checklist's words, typed custom fields,
identification and address rows saved through the form, the error summary in view
and the failing inline row highlighted."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from customers.models import Customer, FieldType, OnboardingStatus
from relations.models import Role
from tests.factories import (
    CompanyFactory,
    ConnectionFactory,
    FieldDefinitionFactory,
    PersonFactory,
)


@pytest.fixture
def page_1280(admin_page):
    admin_page.set_viewport_size({"width": 1280, "height": 800})
    return admin_page


def change_url(page, customer) -> str:
    return f"{page.base_url}/admin/customers/customer/{customer.pk}/change/"


def assert_no_horizontal_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"page is {width}px wide"


def company_with_connections(org):
    company = CompanyFactory(organisation=org, name="Fjord Holding AS")
    jane = PersonFactory(organisation=org, name="Jane Doe")
    ConnectionFactory(
        customer=company,
        connected_customer=jane,
        role=Role.SHAREHOLDER,
        ownership_percentage=Decimal("60"),
    )
    ConnectionFactory(customer=company, connected_customer=jane, role=Role.DIRECTOR)
    return company, jane


def test_person_and_company_pages_fit_1280(page_1280, e2e_org):
    page = page_1280
    company, jane = company_with_connections(e2e_org)
    page.goto(change_url(page, company))
    expect(page.locator(".connection-title").first).to_have_text("Jane Doe — Shareholder 60%")
    expect(page.locator(".field-shareholding_total")).to_contain_text("60%")
    assert page.locator("#id_given_name").count() == 0  # person fields not on a company
    assert_no_horizontal_scroll(page)
    page.goto(change_url(page, jane))
    expect(page.locator(".connection-title").first).to_have_text(
        "Shareholder 60% of Fjord Holding AS"
    )
    assert page.locator("#id_legal_name").count() == 0
    assert_no_horizontal_scroll(page)


def test_approve_with_a_failing_checklist_shows_the_reasons_in_words(page_1280, e2e_org):
    page = page_1280
    company, _jane = company_with_connections(e2e_org)
    page.goto(change_url(page, company))
    checklist = page.locator(".kyb-checklist")
    expect(checklist).to_contain_text("At least one shareholder — ✔ 1")
    expect(checklist).to_contain_text("At least one authorised person — ✗ none yet")
    page.click("button.decision-approve")
    expect(page.locator(".messagelist")).to_contain_text(
        "Cannot approve: At least one authorised person — ✗ none yet."
    )
    company.refresh_from_db()
    assert company.onboarding_status == OnboardingStatus.PENDING
    page.click("button.decision-reject")
    expect(page.locator(".messagelist")).to_contain_text("Fjord Holding AS rejected.")
    company.refresh_from_db()
    assert company.onboarding_status == OnboardingStatus.REJECTED


def test_typed_custom_fields_save_and_reload(page_1280, e2e_org):
    page = page_1280
    for key, kind, choices in (
        ("reviewed", FieldType.DATE, []),
        ("turnover", FieldType.NUMBER, []),
        ("pep", FieldType.BOOLEAN, []),
        ("segment", FieldType.CHOICE, ["retail", "corporate"]),
    ):
        FieldDefinitionFactory(organisation=e2e_org, key=key, field_type=kind, choices=choices)
    person = PersonFactory(organisation=e2e_org, name="Ola Nordmann")
    page.goto(change_url(page, person))
    assert page.get_attribute("#id_cf_reviewed", "type") == "date"
    assert page.get_attribute("#id_cf_turnover", "type") == "number"
    assert page.get_attribute("#id_cf_pep", "type") == "checkbox"
    page.fill("#id_cf_reviewed", "2026-03-01")
    page.fill("#id_cf_turnover", "12.5")
    page.check("#id_cf_pep")
    page.select_option("#id_cf_segment", "corporate")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    expect(page.locator("#id_cf_reviewed")).to_have_value("2026-03-01")
    expect(page.locator("#id_cf_turnover")).to_have_value("12.5")
    expect(page.locator("#id_cf_pep")).to_be_checked()
    expect(page.locator("#id_cf_segment")).to_have_value("corporate")
    person.refresh_from_db()
    assert person.custom_fields == {
        "reviewed": "2026-03-01",
        "turnover": 12.5,
        "pep": True,
        "segment": "corporate",
    }


def test_identification_and_address_rows_save_and_show_again(page_1280, e2e_org):
    page = page_1280
    person = PersonFactory(organisation=e2e_org, name="Ola Nordmann", identifications=[])
    page.goto(change_url(page, person))
    page.fill("#id_identification_0_type", "passport")
    page.fill("#id_identification_0_number", "P1234567")
    page.select_option("#id_identification_0_issuing_country", "NO")
    page.fill("#id_identification_0_issue_date", "2020-01-15")
    page.fill("#id_identification_0_expiration_date", "2030-01-14")
    page.fill("#id_address_street", "Main Street")
    page.fill("#id_address_house_number", "5")
    page.fill("#id_address_city", "Austin")
    page.fill("#id_address_postal_code", "78701")
    page.select_option("#id_address_country", "US")
    expect(page.locator(".fieldBox.field-address_region_other")).to_be_hidden()
    page.select_option("#id_address_region", "US-TX")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    expect(page.locator("#id_identification_0_number")).to_have_value("P1234567")
    expect(page.locator("#id_identification_0_issuing_country")).to_have_value("NO")
    expect(page.locator("#id_identification_0_expiration_date")).to_have_value("2030-01-14")
    expect(page.locator("#id_identification_1_type")).to_have_value("")  # a row to add
    expect(page.locator("#id_address_region")).to_have_value("US-TX")
    expect(page.locator("#id_address_city")).to_have_value("Austin")
    person = Customer.objects.get(pk=person.pk)
    assert person.identifications == [
        {
            "type": "passport",
            "identificationNumber": "P1234567",
            "issuingCountry": "NO",
            "issueDate": "2020-01-15",
            "expirationDate": "2030-01-14",
        }
    ]
    assert person.address == {
        "street": "Main Street",
        "houseNumber": "5",
        "city": "Austin",
        "postalCode": "78701",
        "country": "US",
        "region": "US-TX",
    }


def test_form_error_is_visible_and_the_failing_inline_highlighted(page_1280, e2e_org):
    page = page_1280
    company, _jane = company_with_connections(e2e_org)
    page.goto(change_url(page, company))
    row = page.locator("#connections-0")
    row.locator("input[name$=ownership_percentage]").fill("160")
    page.click("input[name=_continue]")
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_in_viewport()
    expect(summary).to_contain_text(
        "Connections (held in this customer): Jane Doe — Shareholder 60% — "
        "Ownership percentage: Must be greater than 0 and at most 100."
    )
    expect(page.locator("#connections-0")).to_have_class(re.compile(r"row-has-errors"))
    summary.locator("a[data-row=connections-0]").first.click()
    expect(page.locator("#connections-0")).to_be_in_viewport()


def test_add_page_switches_person_and_company_fields(page_1280, e2e_org):
    page = page_1280
    page.goto(f"{page.base_url}/admin/customers/customer/add/")
    page.select_option("#id_account_type", "2")
    expect(page.locator("#id_given_name")).to_be_hidden()
    expect(page.locator("#id_legal_name")).to_be_visible()
    page.select_option("#id_account_type", "1")
    expect(page.locator("#id_given_name")).to_be_visible()
    expect(page.locator("#id_legal_name")).to_be_hidden()
    assert_no_horizontal_scroll(page)
