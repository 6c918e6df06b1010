"""Admin pages of the ownership structure: map page, its JSON, the tables; tenancy."""

import json

import pytest
from django.contrib.auth.models import User

from customers.models import Customer
from relations.models import Role
from tests.admin_support import ANALYST, make_staff, make_superuser
from tests.relations.ownership_helpers import company, owns, person, role
from tests.relations.test_exports import bods_validator

pytestmark = pytest.mark.django_db


@pytest.fixture
def target(org):
    target = company(org, "T", "Target Ltd", risk_score=60, risk_level="High risk")
    hold = company(org, "H", "HoldCo Ltd")
    jane = person(org, "JANE", "Jane Doe", risk_score=10, risk_level="Low risk")
    owns(hold, target, 60)
    owns(jane, hold, 50)
    role(person(org, "DIR", "Dee Rector"), target, Role.DIRECTOR)
    owns(target, company(org, "SUB", "Sub Ltd"), 100)  # the target's own holding
    return target


@pytest.fixture
def staff(client, org):
    client.force_login(make_staff(org, group=ANALYST))
    return client


# session, user, user and group permissions, membership, organisation, the customer
REQUEST_OVERHEAD = 7


def map_url(pk, suffix=""):
    if suffix.startswith("structure"):
        tail = "" if suffix.endswith(".json") else "/"
        return f"/admin/customers/customer/{pk}/{suffix}{tail}"
    return f"/admin/customers/customer/{pk}/map/{suffix}"


def test_map_page_passes_its_configuration_in_data_attributes(staff, target):
    response = staff.get(map_url(target.pk), {"asOf": "2026-01-15", "depth": "3"})
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        f'data-graph-url="/admin/customers/customer/{target.pk}/map/data/?asOf=2026-01-15&amp;depth=3"'
        in html
    )
    assert 'data-change-url-template="/admin/customers/customer/__pk__/change/"' in html
    assert "/static/vendor/cytoscape.min.js" in html
    assert "/static/js/relationship-map.js" in html
    # Strict CSP: no inline script and no inline handler on the page.
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp
    assert "<script>" not in html
    assert " onclick=" not in html and " onload=" not in html


def test_map_data_is_the_network_in_both_directions(staff, target, django_assert_max_num_queries):
    with django_assert_max_num_queries(REQUEST_OVERHEAD + 2 + 4):
        response = staff.get(map_url(target.pk, "data/"), {"asOf": "2026-01-15", "depth": "2"})
    graph = response.json()
    nodes = {n["referenceId"]: n for n in graph["nodes"]}
    assert set(nodes) == {"T", "H", "JANE", "DIR", "SUB"}
    assert nodes["T"]["center"] is True
    assert (nodes["T"]["accountType"], nodes["T"]["risk"]) == ("company", "high")
    assert (nodes["JANE"]["accountType"], nodes["JANE"]["risk"]) == ("person", "low")
    assert nodes["JANE"]["derivedUbo"] is True
    assert nodes["H"]["risk"] == "unknown"
    edges = {(e["source"], e["target"]): e for e in graph["edges"]}
    ids = {ref: n["id"] for ref, n in nodes.items()}
    assert edges[(ids["H"], ids["T"])]["label"] == "SHAREHOLDER 60%"
    assert edges[(ids["H"], ids["T"])]["highlighted"] is True
    assert edges[(ids["JANE"], ids["H"])]["highlighted"] is True
    assert edges[(ids["DIR"], ids["T"])]["label"] == "DIRECTOR"
    assert edges[(ids["T"], ids["SUB"])]["highlighted"] is False
    assert graph["derivedUbos"] == [
        {"id": ids["JANE"], "name": "Jane Doe", "effectiveOwnership": "30"}
    ]


def test_depth_one_still_shows_the_whole_ubo_path(staff, target):
    graph = staff.get(map_url(target.pk, "data/"), {"depth": "1"}).json()
    assert {n["referenceId"] for n in graph["nodes"]} == {"T", "H", "DIR", "SUB", "JANE"}


def test_query_count_is_bounded_by_depth_not_size(staff, org, django_assert_max_num_queries):
    hub = company(org, "HUB")
    for i in range(40):
        holding = company(org, f"C{i}")
        owns(holding, hub, "2.5")
        owns(person(org, f"P{i}"), holding, 100)
        role(person(org, f"D{i}"), holding, Role.DIRECTOR)
    # one query per level, the customers, the structure's three
    for depth in (1, 4):
        with django_assert_max_num_queries(REQUEST_OVERHEAD + depth + 4):
            staff.get(map_url(hub.pk, "data/"), {"depth": str(depth)})


def test_large_fan_out_collapses_into_and_n_more(staff, org):
    hub = company(org, "HUB")
    for i in range(30):
        role(person(org, f"D{i:02d}"), hub, Role.DIRECTOR)
    graph = staff.get(map_url(hub.pk, "data/"), {"depth": "1"}).json()
    customers = [n for n in graph["nodes"] if n["kind"] == "customer"]
    more = [n for n in graph["nodes"] if n["kind"] == "more"]
    assert len(customers) == 26  # the hub and 25 directors
    assert [(m["label"], m["hidden"]) for m in more] == [("and 5 more", 5)]
    assert any(e["source"] == more[0]["id"] and e["target"] == str(hub.pk) for e in graph["edges"])


def test_as_of_changes_the_map(staff, org):
    from datetime import date

    target = company(org, "T")
    owns(person(org, "OLD"), target, 40, valid_to=date(2024, 12, 31))
    past = staff.get(map_url(target.pk, "data/"), {"asOf": "2024-06-01"}).json()
    now = staff.get(map_url(target.pk, "data/")).json()
    assert {n["referenceId"] for n in past["nodes"]} == {"T", "OLD"}
    assert {n["referenceId"] for n in now["nodes"]} == {"T"}


def test_structure_page_tables(staff, target):
    response = staff.get(f"/admin/customers/customer/{target.pk}/structure/", {"threshold": "25"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Jane Doe →50%→ HoldCo Ltd →60%→ Target Ltd = 30%" in html
    assert (
        "Jane Doe (JANE) owns 30% effectively (threshold 25%) but is not declared as UBO." in html
    )
    assert "Dee Rector (DIR)" in html
    assert ">60%<" in html


def test_structure_page_names_discrepancies_in_words_with_links(staff, org, target):
    declared = person(org, "DECL", "Dec Lared")
    role(declared, target, Role.UBO)
    jane = Customer.objects.get(organisation=org, reference_id="JANE")
    html = staff.get(map_url(target.pk, "structure")).content.decode()
    table = html.split('<table id="discrepancies">')[1].split("</table>")[0]
    assert (
        f'<td><a href="/admin/customers/customer/{declared.pk}/change/">Dec Lared</a> (DECL)</td>'
        "<td>Declared as UBO, but below the threshold</td>"
    ) in table
    assert (
        f'<td><a href="/admin/customers/customer/{jane.pk}/change/">Jane Doe</a> (JANE)</td>'
        "<td>Reaches the threshold, but not declared as UBO</td>"
    ) in table
    assert "declared_not_derived" not in html and "derived_not_declared" not in html


def test_structure_page_offers_downloads_and_printing_without_readme(staff, target):
    response = staff.get(map_url(target.pk, "structure"), {"asOf": "2026-01-15", "threshold": "30"})
    html = response.content.decode()
    for kind, label in (("bods", "BODS 0.4"), ("ftm", "FollowTheMoney")):
        assert (
            f'<a class="button" href="/admin/customers/customer/{target.pk}/structure/{kind}.json'
            f'?asOf=2026-01-15&amp;threshold=30" download>{label} (JSON)</a>'
        ) in html
    assert '<button type="button" class="button" id="print-structure" hidden>Print</button>' in html
    assert "/static/js/ownership-structure.js" in html
    assert "/static/css/ownership-print.css" in html
    assert "README" not in html
    assert "<script>" not in html and " onclick=" not in html


def test_bods_download_is_the_structure_as_valid_statements(
    staff, target, django_assert_max_num_queries
):
    with django_assert_max_num_queries(REQUEST_OVERHEAD + 5):
        response = staff.get(map_url(target.pk, "structure/bods.json"), {"asOf": "2026-01-15"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert (
        response["Content-Disposition"] == 'attachment; filename="T-ownership-bods-2026-01-15.json"'
    )
    statements = json.loads(response.content)
    assert sorted(bods_validator().iter_errors(statements), key=str) == []
    assert {s["statementDate"] for s in statements} == {"2026-01-15"}
    subject = f"{target.organisation_id}/customer/{target.pk}"
    assert {s["declarationSubject"] for s in statements} == {subject}
    names = sorted(
        s["recordDetails"].get("name") or s["recordDetails"]["names"][0]["fullName"]
        for s in statements
        if s["recordType"] != "relationship"
    )
    assert names == ["Dee Rector", "HoldCo Ltd", "Jane Doe", "Target Ltd"]
    assert statements[0]["publicationDetails"]["publisher"] == {"name": target.organisation.name}


def test_ftm_download_is_the_apis_entities(staff, api, target):
    response = staff.get(map_url(target.pk, "structure/ftm.json"), {"asOf": "2026-01-15"})
    assert (
        response["Content-Disposition"] == 'attachment; filename="T-ownership-ftm-2026-01-15.json"'
    )
    entities = json.loads(response.content)
    from_api = api.get("/api/v1/customers/T/organization/ftm", {"asOf": "2026-01-15"})
    assert entities == from_api.json()["data"]
    assert sorted(e["schema"] for e in entities) == [
        "Company",
        "Company",
        "Directorship",
        "Ownership",
        "Ownership",
        "Ownership",
        "Person",
        "Person",
    ]


def test_download_follows_the_threshold(staff, target):
    low = json.loads(
        staff.get(map_url(target.pk, "structure/ftm.json"), {"threshold": "25"}).content
    )
    high = json.loads(
        staff.get(map_url(target.pk, "structure/ftm.json"), {"threshold": "40"}).content
    )
    indirect = [e for e in low if e["properties"].get("ownershipType") == ["indirect"]]
    assert [e["properties"]["percentage"] for e in indirect] == [["30"]]
    assert [e for e in high if e["properties"].get("ownershipType") == ["indirect"]] == []


def test_superuser_download_is_in_the_customers_organisation(client, target):
    client.force_login(make_superuser())
    statements = json.loads(client.get(map_url(target.pk, "structure/bods.json")).content)
    assert statements[0]["recordId"].startswith(f"{target.organisation_id}/customer/")
    assert statements[0]["publicationDetails"]["publisher"] == {"name": target.organisation.name}


def test_structure_page_reports_bad_parameters(staff, target):
    response = staff.get(
        f"/admin/customers/customer/{target.pk}/structure/", {"asOf": "nope", "threshold": "500"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "“nope” is not a date (YYYY-MM-DD); showing today." in html
    assert "“500” is not a threshold between 0 and 100; showing the default." in html


PAGES = ["", "data/", "structure", "structure/bods.json", "structure/ftm.json"]


@pytest.mark.parametrize("suffix", PAGES)
def test_other_organisations_customer_is_404(client, other_org, target, suffix):
    client.force_login(make_staff(other_org, username="outsider", group=ANALYST))
    assert client.get(map_url(target.pk, suffix)).status_code == 404


@pytest.mark.parametrize("suffix", PAGES)
def test_staff_without_membership_gets_404_and_without_permission_403(client, target, suffix):
    client.force_login(make_staff(None, username="nomember", group=ANALYST))
    assert client.get(map_url(target.pk, suffix)).status_code == 404
    client.force_login(User.objects.create_user("plain", password="x", is_staff=True))
    assert client.get(map_url(target.pk, suffix)).status_code == 403


def test_superuser_sees_any_organisation(client, target):
    client.force_login(make_superuser())
    assert client.get(map_url(target.pk)).status_code == 200


def test_anonymous_is_sent_to_login(client, target):
    response = client.get(map_url(target.pk))
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


def test_change_page_links_to_the_map(staff, target):
    html = staff.get(f"/admin/customers/customer/{target.pk}/change/").content.decode()
    assert f'href="/admin/customers/customer/{target.pk}/map/"' in html
    assert f'href="/admin/customers/customer/{target.pk}/structure/"' in html
