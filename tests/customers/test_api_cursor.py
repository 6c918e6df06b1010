"""Keyset pagination of GET /customers: `cursor` and `meta.nextCursor`."""

import base64
import json

import pytest

from customers.models import Customer
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers"
INVALID = "Invalid cursor: send meta.nextCursor of the previous page unchanged."


@pytest.fixture
def customers(org):
    made = [PersonFactory(organisation=org, reference_id=f"R{i:02d}") for i in range(7)]
    # Ties on the ordering key: the id breaks them.
    Customer.objects.filter(pk__in=[c.pk for c in made[:3]]).update(created_at=made[0].created_at)
    Customer.objects.filter(pk=made[4].pk).update(risk_score=None)
    Customer.objects.filter(pk=made[5].pk).update(risk_score=50)
    Customer.objects.filter(pk=made[6].pk).update(risk_score=10)
    return made


def walk(api, params):
    refs, cursor, metas = [], "", []
    for _ in range(20):
        body = api.get(URL, {**params, "cursor": cursor, "pageSize": 3}).json()
        refs += [row["referenceId"] for row in body["data"]]
        metas.append(body["meta"])
        cursor = body["meta"]["nextCursor"]
        if cursor is None:
            return refs, metas
    raise AssertionError("the walk did not end")


def by_pages(api, params):
    body = api.get(URL, {**params, "pageSize": 100}).json()
    return [row["referenceId"] for row in body["data"]]


@pytest.mark.parametrize(
    "ordering", [None, "createdAt", "-name", "referenceId", "riskScore", "-riskScore"]
)
def test_a_walk_by_cursor_reads_every_customer_once_in_the_lists_order(api, customers, ordering):
    params = {"ordering": ordering} if ordering else {}
    refs, metas = walk(api, params)
    assert sorted(refs) == sorted(c.reference_id for c in customers)
    if ordering not in ("riskScore", "-riskScore"):  # NULL placement differs on SQLite
        assert refs == by_pages(api, params)
    assert metas[0] == {"pageSize": 3, "nextCursor": metas[0]["nextCursor"]}
    assert metas[-1]["nextCursor"] is None


def test_the_cursor_walk_places_nulls_last_ascending_and_first_descending(api, customers):
    ascending, _ = walk(api, {"ordering": "riskScore"})
    descending, _ = walk(api, {"ordering": "-riskScore"})
    nulls = {c.reference_id for c in customers} - {"R04", "R05", "R06"}
    nulls.add("R04")
    assert ascending[:2] == ["R06", "R05"] and set(ascending[2:]) == nulls
    assert set(descending[:5]) == nulls and descending[5:] == ["R05", "R06"]


def test_the_cursor_is_opaque_base64_of_the_ordering_values_and_id(api, customers):
    cursor = api.get(URL, {"cursor": "", "pageSize": 2}).json()["meta"]["nextCursor"]
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert payload["o"] == "-created_at,-id"
    assert len(payload["k"]) == 2


def test_a_cursor_page_runs_no_count(api, customers, django_assert_num_queries):
    api.get(URL, {"cursor": ""})  # lastUsedAt written once
    # The key, the page (no COUNT; no custom field values, so no field definitions).
    with django_assert_num_queries(2):
        response = api.get(URL, {"cursor": "", "pageSize": 2})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"cursor": "not base64!"}, INVALID),
        ({"cursor": "e30"}, INVALID),  # {}
        (
            {"cursor": base64.urlsafe_b64encode(b'{"o":"-created_at,-id","k":[1]}').decode()},
            INVALID,
        ),
        (
            {"cursor": base64.urlsafe_b64encode(b'{"o":"-created_at,-id","k":["x",1]}').decode()},
            INVALID,
        ),
        (
            {
                "cursor": base64.urlsafe_b64encode(
                    b'{"o":"-created_at,-id","k":[null,"1"]}'
                ).decode()
            },
            INVALID,
        ),
    ],
)
def test_a_bad_cursor_is_400(api, customers, params, message):
    response = api.get(URL, params)
    assert response.status_code == 400
    assert response.json() == {
        "message": f"cursor: {message}",
        "error": "Bad Request",
        "statusCode": 400,
        "errors": {"cursor": [message]},
    }


def test_with_a_cursor_page_is_ignored(api, customers):
    with_page = api.get(URL, {"cursor": "", "page": "2", "pageSize": 2}).json()
    assert with_page == api.get(URL, {"cursor": "", "pageSize": 2}).json()


@pytest.mark.parametrize("page", ["", "0", "x"])
def test_with_a_cursor_an_invalid_page_is_still_400(api, customers, page):
    response = api.get(URL, {"cursor": "", "page": page})
    assert response.status_code == 400
    assert response.json()["errors"] == {"page": ["Must be a positive integer."]}


def test_a_cursor_made_for_another_ordering_is_400(api, customers):
    cursor = api.get(URL, {"cursor": "", "pageSize": 2}).json()["meta"]["nextCursor"]
    response = api.get(URL, {"cursor": cursor, "ordering": "name"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"cursor": [INVALID]}


def test_bulk_uploads_can_be_read_by_cursor_too(api):
    response = api.get("/api/v1/customers/bulk-upload", {"cursor": ""})
    assert response.status_code == 200
    assert response.json()["meta"] == {"pageSize": 20, "nextCursor": None}
