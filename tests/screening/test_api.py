import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.models import Customer
from relations.models import Role
from screening.models import HitStatus, ScreeningHit, Watchlist
from tests.factories import CompanyFactory, ConnectionFactory, PersonFactory
from tests.screening.factories import CSV_HEADER, SANCTIONS, upload_list

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def director_hit(org):
    upload_list(org, SANCTIONS)
    company = CompanyFactory(organisation=org, reference_id="CO-1", name="Harmless Ltd")
    director = PersonFactory(
        organisation=org,
        reference_id="P-1",
        given_name="Sergei",
        family_name="Petrov",
        name="Sergei Petrov",
    )
    ConnectionFactory(customer=company, connected_customer=director, role=Role.DIRECTOR)
    return company


def upload(client, content: bytes, name: str = "OFAC", filename: str = "list.csv"):
    return client.post(
        "/api/v1/watchlists",
        {"name": name, "file": SimpleUploadedFile(filename, content)},
        format="multipart",
    )


def test_upload_csv_then_read_it(api):
    content = (CSV_HEADER + "e1,Sergey Petrov,,person,1970,ru,sanction\nbad\n").encode()
    response = upload(api, content)
    assert response.status_code == 202
    body = response.json()
    assert body["message"] == "Watchlist upload accepted"
    watchlist_id = body["data"]["id"]
    detail = api.get(f"/api/v1/watchlists/{watchlist_id}").json()["data"]
    assert {
        k: detail[k]
        for k in ("name", "status", "entryCount", "version", "added", "changed", "removed")
    } == {
        "name": "OFAC",
        "status": "completed",
        "entryCount": 1,
        "version": 1,
        "added": 1,
        "changed": 0,
        "removed": 0,
    }
    assert detail["message"] == "1 line(s) could not be read and were skipped"
    assert detail["lineErrors"] == [{"line": 3, "message": "1 columns, expected 7"}]
    second = upload(api, (CSV_HEADER + "e2,Ivan Ivanov,,person,,,\n").encode()).json()["data"]
    assert second["id"] == watchlist_id
    detail = api.get(f"/api/v1/watchlists/{watchlist_id}").json()["data"]
    assert (detail["version"], detail["added"], detail["removed"]) == (2, 1, 1)


def test_upload_without_a_name_is_400(api):
    response = api.post(
        "/api/v1/watchlists", {"file": SimpleUploadedFile("l.csv", b"x")}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"name": ["This field is required."]}


def test_list_watchlists_in_a_constant_number_of_queries(api, org, django_assert_num_queries):
    for name in ("A", "B", "C"):
        upload_list(org, SANCTIONS, name=name)
    api.get("/api/v1/watchlists")  # the key's lastUsedAt is written once
    with django_assert_num_queries(3):  # key, count, page
        response = api.get("/api/v1/watchlists")
    assert response.json()["message"] == "Watchlists fetched successfully"
    assert [row["name"] for row in response.json()["data"]] == ["A", "B", "C"]


def test_delete_watchlist(api, org):
    watchlist = upload_list(org, SANCTIONS)
    response = api.delete(f"/api/v1/watchlists/{watchlist.pk}")
    assert response.status_code == 200
    assert response.json()["message"] == "Watchlist deleted successfully"
    assert not Watchlist.objects.exists()


def test_screen_answers_the_hits_with_party_and_entry(api, director_hit):
    response = api.post("/api/v1/customers/CO-1/screen")
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Customer screened successfully"
    [hit] = body["data"]
    assert hit["status"] == "open"
    assert hit["matchedParty"] == {
        "referenceId": "P-1",
        "name": "Sergei Petrov",
        "role": "DIRECTOR",
    }
    assert hit["entry"] == {
        "watchlist": "Sanctions",
        "sourceId": "ru-petrov",
        "schema": "Person",
        "name": "Сергей Иванович Петров",
        "aliases": [],
        "birthDates": ["1970-05-12"],
        "countries": ["ru"],
        "topics": ["sanction"],
    }
    assert hit["explanation"]["nameScore"] >= 0.8
    assert hit["reviewedAt"] is None and hit["reviewedBy"] is None
    customer = api.get("/api/v1/customers/CO-1").json()["data"]
    assert customer["lastScreeningDate"] is not None


def test_hits_list_filters_and_counts_queries(api, org, director_hit, django_assert_num_queries):
    for _ in range(3):
        person = PersonFactory(
            organisation=org, given_name="Sergey", family_name="Petrov", name="Sergey Petrov"
        )
        ConnectionFactory(customer=director_hit, connected_customer=person, role=Role.UBO)
    api.post("/api/v1/customers/CO-1/screen")
    with django_assert_num_queries(4):  # key, customer, count, page with joins
        response = api.get("/api/v1/customers/CO-1/screening-hits")
    assert response.json()["message"] == "Screening hits fetched successfully"
    assert len(response.json()["data"]) == 4
    assert api.get("/api/v1/customers/CO-1/screening-hits?status=dismissed").json()["data"] == []
    bad = api.get("/api/v1/customers/CO-1/screening-hits?status=maybe")
    assert bad.status_code == 400
    assert bad.json()["errors"] == {"status": ["must be open, confirmed or dismissed"]}


def test_review_a_hit(api, director_hit):
    api.post("/api/v1/customers/CO-1/screen")
    hit = ScreeningHit.objects.get()
    url = f"/api/v1/screening-hits/{hit.pk}"
    missing = api.patch(url, {"status": "dismissed"}, format="json")
    assert missing.status_code == 400
    assert missing.json()["errors"] == {"comment": ["A comment is required to dismiss a hit"]}
    wrong = api.patch(url, {"status": "open"}, format="json")
    assert wrong.json()["errors"] == {"status": ["status must be confirmed or dismissed"]}
    response = api.patch(url, {"status": "dismissed", "comment": "Namesake"}, format="json")
    assert response.status_code == 200
    data = response.json()["data"]
    assert response.json()["message"] == "Screening hit updated successfully"
    assert (data["status"], data["comment"]) == ("dismissed", "Namesake")
    assert data["reviewedBy"] == "API key test (" + api.api_key.prefix + "…)"
    assert data["reviewedAt"] is not None
    hit.refresh_from_db()
    assert hit.history.first().history_channel == "api"
    api.post("/api/v1/customers/CO-1/screen")
    hit.refresh_from_db()
    assert hit.status == HitStatus.DISMISSED


def test_monitor_and_unmonitor(api, director_hit):
    response = api.post("/api/v1/customers/CO-1/monitor", {"frequency": "monthly"}, format="json")
    assert response.status_code == 200
    assert response.json()["message"] == "Customer added to monitoring"
    data = response.json()["data"]
    assert (data["monitored"], data["monitoringFrequency"]) == (True, "monthly")
    assert data["lastScreeningDate"] is not None and data["nextScreeningAt"] is not None
    assert ScreeningHit.objects.filter(customer=director_hit).count() == 1
    customer = api.get("/api/v1/customers/CO-1").json()["data"]
    assert (customer["monitored"], customer["monitoringFrequency"]) == (True, "monthly")
    assert customer["nextScreeningAt"] == data["nextScreeningAt"]
    response = api.delete("/api/v1/customers/CO-1/monitor")
    assert response.json()["message"] == "Customer removed from monitoring"
    assert response.json()["data"]["monitored"] is False
    assert Customer.objects.get(pk=director_hit.pk).monitoring_frequency == ""


def test_monitor_defaults_to_daily_and_refuses_other_frequencies(api, director_hit):
    assert (
        api.post("/api/v1/customers/CO-1/monitor").json()["data"]["monitoringFrequency"] == "daily"
    )
    bad = api.post("/api/v1/customers/CO-1/monitor", {"frequency": "hourly"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["errors"] == {"frequency": ["frequency must be daily, weekly or monthly"]}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"frequency": None}, {"frequency": ["frequency must be daily, weekly or monthly"]}),
        ({"frequency": ""}, {"frequency": ["frequency must be daily, weekly or monthly"]}),
    ],
)
def test_monitor_refuses_a_null_or_empty_frequency(api, director_hit, body, errors):
    response = api.post("/api/v1/customers/CO-1/monitor", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == errors
    assert Customer.objects.get(reference_id="CO-1").monitored is False


@pytest.mark.parametrize(("body", "kind"), [('["daily"]', "an array"), ("null", "null")])
def test_monitor_refuses_a_body_that_is_not_an_object(api, director_hit, body, kind):
    response = api.generic(
        "POST", "/api/v1/customers/CO-1/monitor", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["message"] == f"Request body must be a JSON object, not {kind}."
    assert Customer.objects.get(reference_id="CO-1").monitored is False


def test_read_only_key_gets_403_on_every_write(readonly_api, org, director_hit):
    watchlist = Watchlist.objects.get()
    hit_id = 1
    writes = [
        ("post", "/api/v1/watchlists"),
        ("delete", f"/api/v1/watchlists/{watchlist.pk}"),
        ("post", "/api/v1/customers/CO-1/screen"),
        ("post", "/api/v1/customers/CO-1/monitor"),
        ("delete", "/api/v1/customers/CO-1/monitor"),
        ("patch", f"/api/v1/screening-hits/{hit_id}"),
    ]
    for method, url in writes:
        response = getattr(readonly_api, method)(url, {}, format="json")
        assert response.status_code == 403, url
        scope = "kyc:delete" if method == "delete" else "kyc:create"
        assert response.json()["message"] == f"This API key lacks the {scope} scope."
    assert readonly_api.get("/api/v1/watchlists").status_code == 200
    assert readonly_api.get("/api/v1/customers/CO-1/screening-hits").status_code == 200
    assert Watchlist.objects.exists()
    assert not Customer.objects.get(reference_id="CO-1").monitored


def test_outsider_sees_no_watchlist(outsider_api, org):
    upload_list(org, SANCTIONS)
    assert outsider_api.get("/api/v1/watchlists").json()["data"] == []
