"""Admin pages of the ownership structure: map page, its JSON, the tables; tenancy."""

import pytest
from django.contrib.auth.models import User

from relations.models import Role
from tests.admin_support import ANALYST, make_staff, make_superuser
from tests.relations.ownership_helpers import company, owns, person, role

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
    if suffix == "structure":
        return f"/admin/customers/customer/{pk}/structure/"
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


def test_structure_page_reports_bad_parameters(staff, target):
    response = staff.get(
        f"/admin/customers/customer/{target.pk}/structure/", {"asOf": "nope", "threshold": "500"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "“nope” is not a date (YYYY-MM-DD); showing today." in html
    assert "“500” is not a threshold between 0 and 100; showing the default." in html


@pytest.mark.parametrize("suffix", ["", "data/", "structure"])
def test_other_organisations_customer_is_404(client, other_org, target, suffix):
    client.force_login(make_staff(other_org, username="outsider", group=ANALYST))
    assert client.get(map_url(target.pk, suffix)).status_code == 404


@pytest.mark.parametrize("suffix", ["", "data/", "structure"])
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
