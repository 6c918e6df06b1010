from playwright.sync_api import expect

from relations.models import Role
from screening.models import HitStatus, ScreeningHit
from screening.services import customer_screen
from tests.factories import CompanyFactory, ConnectionFactory, PersonFactory
from tests.screening.factories import SANCTIONS, upload_list


def test_analyst_dismisses_a_hit_from_the_review_queue(admin_page, e2e_org, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    upload_list(e2e_org, SANCTIONS)
    company = CompanyFactory(organisation=e2e_org, name="Harmless Ltd", reference_id="CO-E2E")
    director = PersonFactory(
        organisation=e2e_org, given_name="Sergei", family_name="Petrov", name="Sergei Petrov"
    )
    ConnectionFactory(customer=company, connected_customer=director, role=Role.DIRECTOR)
    customer_screen(customer=company)
    hit = ScreeningHit.objects.get()

    admin_page.goto(f"{admin_page.base_url}/admin/screening/screeninghit/")
    results = admin_page.locator("#result_list")
    expect(results).to_contain_text("Сергей Иванович Петров")
    admin_page.click(f"#result_list a[href$='/screeninghit/{hit.pk}/change/']")
    expect(admin_page.locator(".screening-compare")).to_contain_text("Sergei Petrov")
    admin_page.select_option("#id_status", "dismissed")
    admin_page.fill("#id_comment", "A namesake: other birth date")
    admin_page.click("input[name=_save]")
    expect(admin_page.locator(".messagelist")).to_contain_text("was changed successfully")
    # The queue shows open hits: the dismissed one has left it.
    expect(admin_page.locator("#content-main")).not_to_contain_text("Сергей Иванович Петров")
    hit.refresh_from_db()
    assert (hit.status, hit.comment) == (HitStatus.DISMISSED, "A namesake: other birth date")
