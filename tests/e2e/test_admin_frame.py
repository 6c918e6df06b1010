"""The admin's frame at 1,280 × 800: nothing scrolls sideways (index, every list,
history), the dashboard's counts open lists of exactly those rows, exports keep text as
text, history reads in words, `/` opens the admin."""

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib import admin
from openpyxl import load_workbook
from playwright.sync_api import expect

from customers.models import Customer, OnboardingStatus, RiskLevel
from organisations.audit import Channel, audit_context
from relations.models import Role
from relations.services import connection_save
from tests.admin_support import PASSWORD, make_superuser
from tests.factories import CompanyFactory, ConnectionFactory, PersonFactory

VIEWPORT = {"width": 1280, "height": 800}
LONG = "Wolfeschlegelsteinhausenbergerdorff International Holdings and Trading Company"


def scrolls_sideways(page) -> bool:
    """The page, or a list's own scrolling box (Django lets the results table scroll
    inside it), is wider than the window."""
    return page.evaluate(
        """() => document.documentElement.scrollWidth > window.innerWidth
            || [...document.querySelectorAll('#changelist .results, #change-history')]
                .some(box => box.scrollWidth > box.clientWidth + 1)"""
    )


@pytest.fixture
def data(e2e_org, other_org):
    company = CompanyFactory(organisation=e2e_org, name=LONG, legal_name=LONG, country="DE")
    person = PersonFactory(
        organisation=e2e_org,
        name="=1+1",
        email="formula@example.com",
    )
    PersonFactory(
        organisation=e2e_org, name="Approved One", onboarding_status=OnboardingStatus.APPROVED
    )
    with audit_context(channel=Channel.ADMIN):
        connection = ConnectionFactory(
            customer=company,
            connected_customer=person,
            role=Role.SHAREHOLDER,
            ownership_percentage=Decimal("60"),
        )
        connection.ownership_percentage = Decimal("75")
        connection_save(connection=connection)
    # Set after the connection, whose change rescores its parties.
    Customer.objects.filter(pk=person.pk).update(risk_level=RiskLevel.HIGH, risk_score=80)
    for i in range(4):
        PersonFactory(organisation=other_org, name=f"Outsider {i}")
    return {"company": company, "person": person}


def test_root_redirects_to_the_admin(page, live_server):
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/admin/login/?next=/admin/")
    expect(page.locator("#site-name")).to_contain_text("kycregistry")
    expect(page.locator("#site-name img.brand-logo")).to_be_visible()
    expect(page.locator(".login-intro")).to_contain_text("Customer registry for compliance teams")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(f"{live_server.url}{icon}").headers["content-type"] == "image/svg+xml"


def test_api_docs_render_under_the_csp(page, live_server):
    """Swagger UI from local files, with no inline style or script (the CSP guard of
    conftest fails the test on any refusal)."""
    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("kycregistry API")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()


def test_dashboard_counts_open_lists_of_exactly_those_rows(admin_page, data):
    page = admin_page
    page.set_viewport_size(VIEWPORT)
    page.goto(f"{page.base_url}/admin/")
    assert not scrolls_sideways(page)
    cards = page.locator(".dashboard-count")
    labels = cards.locator(".label").all_inner_texts()
    counts = [int(n) for n in cards.locator(".count").all_inner_texts()]
    figures = dict(zip(labels, counts, strict=True))
    # The outsiders' four pending customers are not counted.
    assert figures["Pending onboarding"] == 2
    assert figures["High risk"] == 1
    for label in ("Pending onboarding", "High risk"):
        page.goto(f"{page.base_url}/admin/")
        page.locator(".dashboard-count", has_text=label).click()
        expect(page.locator("#result_list tbody tr")).to_have_count(figures[label])
        expect(page.locator("#result_list")).not_to_contain_text("Outsider")


def test_every_dashboard_count_opens_the_list_of_exactly_its_rows(admin_page, e2e_org, other_org):
    """Each of the seven counts, clicked: the list it opens shows that many rows, the
    very rows counted (never another organisation's)."""
    from tests.test_admin_dashboard import LABELS, seed

    expected = dict(zip(LABELS, seed(e2e_org, 2), strict=True))
    seed(other_org, 3)
    page = admin_page
    page.set_viewport_size(VIEWPORT)
    page.goto(f"{page.base_url}/admin/")
    cards = page.locator(".dashboard-count")
    assert cards.locator(".label").all_inner_texts() == LABELS
    assert cards.locator(".count").all_inner_texts() == ["2"] * len(LABELS)
    for label, rows in expected.items():
        page.goto(f"{page.base_url}/admin/")
        page.locator(".dashboard-count", has_text=label).click()
        listed = page.locator("#result_list tbody tr")
        expect(listed).to_have_count(len(rows))
        selectable = page.locator("#result_list tbody input.action-select")
        if selectable.count():
            values = {int(box.get_attribute("value")) for box in selectable.all()}
            assert values == {row.pk for row in rows}, label
        assert not scrolls_sideways(page), label


def test_customer_list_fits_and_needs_review_shows_only_when_true(admin_page, data):
    page = admin_page
    page.set_viewport_size(VIEWPORT)
    page.goto(f"{page.base_url}/admin/customers/customer/")
    expect(page.locator("#result_list tbody tr")).to_have_count(3)
    assert not scrolls_sideways(page)
    name = page.locator("#result_list .one-line", has_text="Wolfeschlegel")
    # One line, cut with an ellipsis: no taller than a line of text.
    assert name.bounding_box()["height"] < 30
    expect(page.locator("#result_list")).not_to_contain_text("Needs review")
    expect(page.locator("#result_list img[alt='False']")).to_have_count(0)


def export_download(page, action: str):
    page.goto(f"{page.base_url}/admin/customers/customer/")
    page.locator("#action-toggle").check()
    page.select_option("select[name=action]", action)
    with page.expect_download() as download:
        page.click("button[name=index]")
    return download.value


def test_excel_export_keeps_formula_text_as_text(admin_page, data):
    download = export_download(admin_page, "export_xlsx")
    assert download.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(Path(download.path()).read_bytes())).active
    names = {row[1].value: row[1] for row in sheet.iter_rows(min_row=2)}
    assert set(names) == {LONG, "=1+1", "Approved One"}
    assert (names["=1+1"].data_type, names["=1+1"].value) == ("s", "=1+1")


def test_csv_export_escapes_formula_text(admin_page, data):
    download = export_download(admin_page, "export_csv")
    with open(download.path(), encoding="utf-8-sig") as handle:
        rows = list(csv.reader(io.StringIO(handle.read())))
    assert sorted(row[1] for row in rows[1:]) == ["'=1+1", "Approved One", LONG]


def test_history_reads_in_words_and_shows_connection_changes(admin_page, data):
    page = admin_page
    page.set_viewport_size(VIEWPORT)
    company = data["company"]
    page.goto(f"{page.base_url}/admin/customers/customer/{company.pk}/history/")
    table = page.locator("#change-history")
    expect(table).to_contain_text("Ownership percentage: 60 → 75")
    expect(table).to_contain_text(f"Connection: =1+1 — Shareholder 75% of {LONG}")
    expect(table).not_to_contain_text("None")
    expect(table.locator("th")).not_to_contain_text(["HISTORY_CHANNEL"])
    assert not scrolls_sideways(page)


def _log_in_as_superuser(page, live_server) -> None:
    make_superuser("root")
    page.set_viewport_size(VIEWPORT)
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


def _a_row_of_each_kind(data, organisation) -> None:
    """Beside the fixture's customers and connection, a row of the other kinds, with
    long values where they have text: rows, not headers, are what widen a list."""
    from imports.models import BulkUpload
    from kycregistry.jobs import JobStatus
    from organisations.services import api_key_create
    from tests.kyc.factories import SessionFactory
    from tests.screening.factories import screening_hit_for
    from tests.webhooks.factories import EndpointFactory
    from webhooks.models import Delivery

    api_key_create(organisation=organisation, scopes=["kyc:read"], name="Core banking " + LONG)
    endpoint = EndpointFactory(organisation=organisation, description=LONG)
    Delivery.objects.create(
        organisation=organisation,
        endpoint=endpoint,
        event_type="client.connection-created",
        body="{}",
        last_error="Connection failed: [Errno 111] Connection refused",
    )
    SessionFactory(customer=data["person"])
    screening_hit_for(data["company"])
    BulkUpload.objects.create(
        organisation=organisation,
        file_name="customers-export-of-the-core-banking-system-2026-12-07-final-v2.xlsx",
        status=JobStatus.RUNNING,
    )


def test_no_list_or_history_of_the_admin_scrolls_sideways(page, live_server, data, e2e_org):
    _a_row_of_each_kind(data, e2e_org)
    _log_in_as_superuser(page, live_server)
    assert not scrolls_sideways(page), "/admin/"
    wide, histories = [], 0
    for model in admin.site._registry:
        opts = model._meta
        url = f"{live_server.url}/admin/{opts.app_label}/{opts.model_name}/"
        page.goto(url)
        if scrolls_sideways(page):
            wide.append(url)
        for row in model._default_manager.all()[:1]:
            url = f"{live_server.url}/admin/{opts.app_label}/{opts.model_name}/{row.pk}/history/"
            response = page.goto(url)
            assert response is not None and response.status == 200, url
            histories += 1
            if scrolls_sideways(page):
                wide.append(url)
    for customer in data.values():
        url = f"{live_server.url}/admin/customers/customer/{customer.pk}/history/"
        page.goto(url)
        if scrolls_sideways(page):
            wide.append(url)
    assert wide == []
    assert histories >= 8  # customers, connections, keys, endpoints, sessions, hits, …


def test_no_change_or_add_page_of_the_admin_scrolls_sideways(page, live_server, data, e2e_org):
    """Every model's add page, and the change page of a row of each (the fixture's
    customers and connection, and one row of the other kinds)."""
    _a_row_of_each_kind(data, e2e_org)
    _log_in_as_superuser(page, live_server)
    visited, wide = [], []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        base = f"{live_server.url}/admin/{opts.app_label}/{opts.model_name}"
        urls = [f"{base}/{row.pk}/change/" for row in model._default_manager.all()[:1]]
        if model_admin.has_add_permission(_request_of_superuser()):
            urls.append(f"{base}/add/")
        for url in urls:
            response = page.goto(url)
            assert response is not None and response.status == 200, url
            visited.append(url)
            if scrolls_sideways(page):
                wide.append(url)
    assert wide == []
    assert any("/customers/customer/" in url and "/change/" in url for url in visited)
    assert len(visited) > len(admin.site._registry)  # change pages as well as add pages


def _request_of_superuser():
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = get_user_model().objects.get(username="root")
    return request
