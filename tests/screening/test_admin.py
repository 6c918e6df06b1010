import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from relations.models import Role
from screening.models import HitStatus, ScreeningHit, Watchlist
from screening.services import customer_screen
from tests.admin_support import make_staff
from tests.factories import CompanyFactory, ConnectionFactory, PersonFactory
from tests.screening.factories import SANCTIONS, upload_list

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def hit(org):
    upload_list(org, SANCTIONS)
    company = CompanyFactory(organisation=org, reference_id="CO-1", name="Harmless Ltd")
    director = PersonFactory(
        organisation=org, given_name="Sergei", family_name="Petrov", name="Sergei Petrov"
    )
    ConnectionFactory(customer=company, connected_customer=director, role=Role.DIRECTOR)
    customer_screen(customer=company)
    return ScreeningHit.objects.get()


@pytest.fixture
def staff_client(client, org):
    client.force_login(make_staff(org))
    return client


def test_review_queue_lists_open_hits_with_filters(staff_client, hit):
    url = "/admin/screening/screeninghit/"
    response = staff_client.get(url)
    assert response.status_code == 200
    assert "Сергей Иванович Петров" in response.content.decode()
    assert "Сергей" not in staff_client.get(url + "?score=low").content.decode()
    assert "Сергей" in staff_client.get(url + "?topic=sanction").content.decode()
    assert "Сергей" not in staff_client.get(url + "?topic=role.pep").content.decode()
    assert "Сергей" not in staff_client.get(url + "?status=dismissed").content.decode()
    watchlist = hit.entry.watchlist
    assert "Сергей" in staff_client.get(url, {"watchlist": watchlist.pk}).content.decode()
    other = staff_client.get(url, {"watchlist": watchlist.pk + 1}).content.decode()
    assert "Сергей" not in other
    for unreadable in ("\u00b9", "x"):  # not a watchlist id: the filter is not applied
        response = staff_client.get(url, {"watchlist": unreadable})
        assert response.status_code == 200 and "Сергей" in response.content.decode()


def test_side_by_side_page_and_review_with_comment(staff_client, hit):
    url = f"/admin/screening/screeninghit/{hit.pk}/change/"
    page = staff_client.get(url).content.decode()
    assert "Watchlist entry (Sanctions)" in page
    assert "nameScore" in page
    refused = staff_client.post(url, {"status": "dismissed", "comment": ""})
    assert "A comment is required to dismiss a hit" in refused.content.decode()
    staff_client.post(url, {"status": "dismissed", "comment": "Namesake"})
    hit.refresh_from_db()
    assert (hit.status, hit.comment, hit.reviewed_by) == (HitStatus.DISMISSED, "Namesake", "staff")
    assert hit.history.first().history_channel == "admin"


def test_confirm_and_dismiss_actions(staff_client, hit):
    url = "/admin/screening/screeninghit/"
    data = {"action": "dismiss_selected", "_selected_action": [hit.pk], "comment": ""}
    staff_client.post(url, data)
    hit.refresh_from_db()
    assert hit.status == HitStatus.OPEN
    staff_client.post(url, {**data, "comment": "Other person"})
    hit.refresh_from_db()
    assert (hit.status, hit.comment) == (HitStatus.DISMISSED, "Other person")
    staff_client.post(
        url + "?status=all", {"action": "confirm_selected", "_selected_action": [hit.pk]}
    )
    hit.refresh_from_db()
    assert hit.status == HitStatus.CONFIRMED


def test_upload_a_watchlist_in_the_admin(staff_client, org):
    response = staff_client.post(
        "/admin/screening/watchlist/add/",
        {"name": "PEPs", "upload": SimpleUploadedFile("p.ftm", SANCTIONS)},
    )
    assert response.status_code == 302
    watchlist = Watchlist.objects.get(name="PEPs")
    assert (watchlist.organisation, watchlist.entry_count, watchlist.version) == (org, 3, 1)


def test_customer_page_shows_hits_and_actions_screen_and_monitor(staff_client, hit):
    page = staff_client.get(f"/admin/customers/customer/{hit.customer_id}/change/").content.decode()
    assert "screening hits" in page.lower()
    other = CompanyFactory(organisation=hit.organisation, name="Quiet Ltd")
    url = "/admin/customers/customer/"
    staff_client.post(url, {"action": "screen_now", "_selected_action": [other.pk]})
    other.refresh_from_db()
    assert other.last_screening_date is not None
    staff_client.post(url, {"action": "monitor", "_selected_action": [other.pk]})
    other.refresh_from_db()
    assert (other.monitored, other.monitoring_frequency) == (True, "daily")
