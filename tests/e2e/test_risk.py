"""Risk in a real browser (system Chromium): the rules form previews how many
customers change level, saving rescores them, and the customer list shows the
coloured level and filters by it."""

from playwright.sync_api import expect

from kyc.services import customer_rescore
from tests.factories import CompanyFactory, PersonFactory


def test_rules_form_preview_save_and_the_risk_column(admin_page, e2e_org):
    page, base = admin_page, admin_page.base_url
    customer_rescore(customer=CompanyFactory(organisation=e2e_org, name="Fjord AS", country="NO"))
    customer_rescore(
        customer=PersonFactory(organisation=e2e_org, name="Ola Nordmann", country="SE")
    )

    page.goto(f"{base}/admin/kyc/riskrules/add/")
    countries = page.locator("#id_countries")
    expect(countries).to_have_value(
        "KP = 50\nIR = 50\nMM = 50\nSY = 25\nYE = 25\nHT = 25\nSS = 25\nVE = 25"
    )
    countries.fill("NO = 40\nSE = 30")
    page.click("input[name=_preview]")
    expect(page.locator(".errorlist.nonfield")).to_contain_text(
        "Preview: 2 customer(s) would change level (1 Low risk → High risk, "
        "1 Low risk → Medium risk). Nothing was saved; press Save to apply."
    )
    expect(page.locator(".errornote")).to_be_hidden()
    expect(page.locator("#id_countries")).to_have_value("NO = 40\nSE = 30")  # kept
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    expect(page.locator("#result_list")).to_contain_text("completed (2/2)")

    page.goto(f"{base}/admin/customers/customer/")
    high = page.locator("#result_list .risk-badge.risk-high")
    expect(high).to_have_text("High risk (60)")
    colour = high.evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(198, 40, 40)"
    expect(page.locator("#result_list .risk-badge.risk-medium")).to_have_text("Medium risk (30)")

    page.click("#changelist-filter a:text-is('High risk')")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Fjord AS")
