"""Exports of the customer list (Excel and CSV admin actions): the selection, or the
whole filtered list with "select all"; values never become live formulas."""

import csv
import datetime
import io
import logging

import pytest
from django.contrib.admin import helpers
from openpyxl import load_workbook

from customers.models import Customer, OnboardingStatus
from tests.admin_support import ANALYST, make_staff
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = "/admin/customers/customer/"
HEADER = [
    "Reference",
    "Name",
    "Type",
    "Status",
    "Onboarding",
    "Needs review",
    "Risk level",
    "Risk score",
    "Country",
    "Email",
    "Created",
    "Last screened",
]


@pytest.fixture
def officer(client, org):
    client.force_login(make_staff(org, username="olivia"))
    return client


def export(client, action, ids, query="", select_across=False):
    data = {"action": action, helpers.ACTION_CHECKBOX_NAME: [str(i) for i in ids]}
    if select_across:
        data["select_across"] = "1"
    return client.post(f"{CUSTOMERS}{query}", data)


def xlsx_rows(response):
    sheet = load_workbook(io.BytesIO(response.content)).active
    return list(sheet.iter_rows())


def csv_rows(response):
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_excel_export_keeps_a_formula_like_name_as_text(officer, org):
    customer = PersonFactory(organisation=org, name="=1+1", email="a@example.com", country="DE")
    PersonFactory(organisation=org, name="Not selected")
    response = export(officer, "export_xlsx", [customer.pk])
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].endswith('.xlsx"')
    header, row = xlsx_rows(response)
    assert [c.value for c in header] == HEADER
    name = row[1]
    assert (name.data_type, name.value) == ("s", "=1+1")
    assert [c.value for c in row[:10]] == [
        customer.reference_id,
        "=1+1",
        "Person",
        "Active",
        "Pending",
        "No",
        None,
        None,
        "DE",
        "a@example.com",
    ]
    assert row[10].is_date


@pytest.mark.parametrize("value", ["=1+1", "+31 20", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_csv_export_prefixes_formula_starts_with_a_quote(officer, org, value):
    customer = PersonFactory(organisation=org, name=value)
    header, row = csv_rows(export(officer, "export_csv", [customer.pk]))
    assert header == HEADER
    assert row[1] == f"'{value}"


def test_csv_leaves_ordinary_text_alone(officer, org):
    customer = PersonFactory(organisation=org, name="Zoë O'Neil, Ltd")
    _, row = csv_rows(export(officer, "export_csv", [customer.pk]))
    assert row[1] == "Zoë O'Neil, Ltd"


def test_select_all_exports_the_filtered_list_only(officer, org, other_org):
    pending = [PersonFactory(organisation=org, name=f"Pending {i}") for i in range(3)]
    PersonFactory(organisation=org, name="Approved", onboarding_status=OnboardingStatus.APPROVED)
    PersonFactory(organisation=other_org, name="Theirs")
    response = export(
        officer,
        "export_csv",
        [pending[0].pk],
        query="?onboarding_status__exact=PENDING",
        select_across=True,
    )
    _, *rows = csv_rows(response)
    assert sorted(row[1] for row in rows) == ["Pending 0", "Pending 1", "Pending 2"]


def test_another_organisations_customer_is_not_exported(officer, org, other_org):
    theirs = PersonFactory(organisation=other_org, name="Theirs")
    # The action runs on the user's rows only: a crafted id of theirs selects nothing.
    assert csv_rows(export(officer, "export_csv", [theirs.pk])) == [HEADER]


def test_export_is_logged_with_who_and_how_many(officer, org, caplog):
    customers = [PersonFactory(organisation=org) for _ in range(2)]
    with caplog.at_level(logging.INFO, logger="customers.admin"):
        export(officer, "export_xlsx", [c.pk for c in customers])
    assert caplog.messages == [
        "customers exported: user=olivia organisation=acme format=Excel rows=2"
    ]


def test_an_analyst_may_export(client, org):
    client.force_login(make_staff(org, username="ana", group=ANALYST))
    customer = PersonFactory(organisation=org, name="Read only")
    _, row = csv_rows(export(client, "export_csv", [customer.pk]))
    assert row[1] == "Read only"


def test_created_date_range_filter_lists_the_days_inclusive(officer, org):
    days = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    made = {}
    for day in days:
        customer = PersonFactory(organisation=org, name=f"Made {day}")
        Customer.objects.filter(pk=customer.pk).update(
            created_at=datetime.datetime.fromisoformat(f"{day}T12:00:00+00:00")
        )
        made[day] = customer.pk
    response = officer.get(
        CUSTOMERS, {"created_at__date__gte": "2026-03-02", "created_at__date__lte": "2026-03-03"}
    )
    assert {c.pk for c in response.context["cl"].result_list} == {
        made["2026-03-02"],
        made["2026-03-03"],
    }
    content = response.content.decode()
    assert 'name="created_at__date__gte" value="2026-03-02"' in content
    only_since = officer.get(CUSTOMERS, {"created_at__date__gte": "2026-03-04"})
    assert [c.pk for c in only_since.context["cl"].result_list] == [made["2026-03-04"]]


def test_a_malformed_date_is_refused_not_a_500(officer, org):
    response = officer.get(CUSTOMERS, {"created_at__date__gte": "not-a-date"})
    assert (response.status_code, response["Location"]) == (302, f"{CUSTOMERS}?e=1")


def test_needs_review_shows_only_when_true(officer, org):
    PersonFactory(organisation=org, name="Fine")
    PersonFactory(organisation=org, name="Flagged", needs_review=True)
    content = officer.get(CUSTOMERS).content.decode()
    assert content.count('<span class="badge badge-red">Needs review</span>') == 1
    assert "icon-no.svg" not in content
