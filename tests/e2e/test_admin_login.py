from playwright.sync_api import expect

from tests.factories import PersonFactory


def test_staff_logs_in_and_sees_their_customers(admin_page, e2e_org, other_org):
    PersonFactory(organisation=e2e_org, name="Zoë Ørsted", reference_id="CUS-E2E-1")
    PersonFactory(organisation=other_org, name="Hidden Outsider", reference_id="CUS-E2E-2")

    admin_page.click("#content-main a[href='/admin/customers/customer/']")
    expect(admin_page).to_have_url(f"{admin_page.base_url}/admin/customers/customer/")
    results = admin_page.locator("#result_list")
    expect(results).to_contain_text("Zoë Ørsted")
    expect(results).to_contain_text("CUS-E2E-1")
    expect(results).not_to_contain_text("Hidden Outsider")

    admin_page.fill("#searchbar", "zoe")
    admin_page.press("#searchbar", "Enter")
    expect(admin_page.locator("#result_list tbody tr")).to_have_count(1)


def test_wrong_password_is_refused(page, live_server):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "nobody")
    page.fill("#id_password", "wrong")
    page.click("input[type=submit]")
    expect(page.locator(".errornote")).to_be_visible()
