"""GET /api/v1/customers/{referenceId}/organization."""

import itertools
from datetime import date
from decimal import Decimal

import pytest

from relations.models import Role
from tests.relations.ownership_helpers import company, owns, person, role

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/{}/organization"


@pytest.fixture
def target(org):
    target = company(org, "T", "Target Ltd")
    hold = company(org, "H", "HoldCo Ltd")
    jane = person(org, "JANE", "Jane Doe")
    owns(hold, target, 60)
    owns(jane, hold, 50)
    owns(person(org, "ANN", "Ann Lee"), target, "12.5")
    owns(person(org, "OLD", "Old Holder"), target, 20, valid_to=date(2024, 12, 31))
    role(person(org, "DIR", "Dee Rector"), target, Role.DIRECTOR)
    role(person(org, "AUTH", "Al Thorised"), target, Role.AUTHORIZED_PERSON)
    role(person(org, "DECL", "Dec Lared"), target, Role.UBO)
    owns(target, hold, 10)  # a loop back into the target
    return target


def test_structure_shape(api, target):
    response = api.get(URL.format("T"), {"asOf": "2026-01-15"})
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Organization structure fetched successfully"
    assert body["data"] == {
        "customer": {"referenceId": "T", "name": "Target Ltd"},
        "asOf": "2026-01-15",
        "threshold": "25",
        "directors": [{"referenceId": "DIR", "name": "Dee Rector"}],
        "authorizedPersons": [{"referenceId": "AUTH", "name": "Al Thorised"}],
        "declaredUbos": [{"referenceId": "DECL", "name": "Dec Lared"}],
        "shareholders": [
            {
                "referenceId": "H",
                "name": "HoldCo Ltd",
                "accountTypeId": 2,
                "ownershipPercentage": "60",
            },
            {
                "referenceId": "ANN",
                "name": "Ann Lee",
                "accountTypeId": 1,
                "ownershipPercentage": "12.5",
            },
        ],
        "derivedUbos": [
            {
                "referenceId": "JANE",
                "name": "Jane Doe",
                "effectiveOwnership": "30",
                "paths": [
                    {
                        "percentage": "30",
                        "chain": ["JANE", "H", "T"],
                        "text": "Jane Doe →50%→ HoldCo Ltd →60%→ Target Ltd = 30%",
                    }
                ],
            }
        ],
        "discrepancies": [
            {
                "referenceId": "DECL",
                "kind": "declared_not_derived",
                "message": "Dec Lared (DECL) is declared as UBO but they hold no shares in it, "
                "directly or through other companies, below the 25% threshold.",
            },
            {
                "referenceId": "JANE",
                "kind": "derived_not_declared",
                "message": "Jane Doe (JANE) owns 30% effectively (threshold 25%) but is not "
                "declared as UBO.",
            },
        ],
        "cycles": [["T", "H"]],
        "truncated": False,
    }


def test_as_of_and_threshold_parameters(api, target):
    past = api.get(URL.format("T"), {"asOf": "2024-06-01", "threshold": "12.5"}).json()["data"]
    assert past["asOf"] == "2024-06-01"
    assert past["threshold"] == "12.5"
    assert [s["referenceId"] for s in past["shareholders"]] == ["H", "OLD", "ANN"]
    assert [(u["referenceId"], u["effectiveOwnership"]) for u in past["derivedUbos"]] == [
        ("JANE", "30"),
        ("OLD", "20"),
        ("ANN", "12.5"),
    ]


def test_default_threshold_is_the_organisations(api, org, target):
    org.ownership_threshold = Decimal(10)
    org.save()
    data = api.get(URL.format("T")).json()["data"]
    assert data["threshold"] == "10"
    assert data["asOf"] == date.today().isoformat()
    assert [u["referenceId"] for u in data["derivedUbos"]] == ["JANE", "ANN"]


@pytest.mark.parametrize(
    ("params", "message", "errors"),
    [
        (
            {"asOf": "2025-13-01"},
            "asOf: Must be a date in YYYY-MM-DD format.",
            {"asOf": ["Must be a date in YYYY-MM-DD format."]},
        ),
        (
            {"asOf": "01/02/2025"},
            "asOf: Must be a date in YYYY-MM-DD format.",
            {"asOf": ["Must be a date in YYYY-MM-DD format."]},
        ),
        (
            {"threshold": "0"},
            "threshold: Must be a number greater than 0 and at most 100.",
            {"threshold": ["Must be a number greater than 0 and at most 100."]},
        ),
        (
            {"threshold": "100.5"},
            "threshold: Must be a number greater than 0 and at most 100.",
            {"threshold": ["Must be a number greater than 0 and at most 100."]},
        ),
        (
            {"threshold": "abc"},
            "threshold: Must be a number greater than 0 and at most 100.",
            {"threshold": ["Must be a number greater than 0 and at most 100."]},
        ),
    ],
)
def test_bad_parameters(api, target, params, message, errors):
    response = api.get(URL.format("T"), params)
    assert response.status_code == 400
    assert response.json() == {
        "message": message,
        "error": "Bad Request",
        "statusCode": 400,
        "errors": errors,
    }


@pytest.mark.parametrize("suffix", ["", "/bods", "/ftm"])
def test_unknown_and_foreign_customers_are_not_found(api, outsider_api, target, suffix):
    for client, ref in ((api, "NOPE"), (outsider_api, "T")):
        response = client.get(URL.format(ref) + suffix, {"asOf": "bad"})
        assert response.status_code == 404
        assert response.json() == {
            "message": "Customer not found",
            "error": "Not Found",
            "statusCode": 404,
        }


def test_anonymous_is_401(anon_api, target):
    assert anon_api.get(URL.format("T")).status_code == 401


def test_query_count_is_constant(api, org, django_assert_num_queries):
    """Key lookup, customer, direct connections, the walk, named customers (lastUsedAt
    is written on the first request only, so a warm-up request comes first)."""
    api.get(URL.format("NONE"))
    for depth in (2, 6):
        nodes = [company(org, f"D{depth}-{i}") for i in range(depth)]
        for owned, holder in itertools.pairwise(nodes):
            owns(holder, owned, 60)
            owns(person(org, f"D{depth}-{owned.pk}-P"), owned, 40)
        owns(person(org, f"D{depth}-TOP"), nodes[-1], 100)
        with django_assert_num_queries(5):
            response = api.get(URL.format(nodes[0].reference_id), {"threshold": "1"})
        assert len(response.json()["data"]["derivedUbos"]) == depth


def test_trailing_slash_is_accepted(api, target):
    response = api.get(URL.format("T") + "/", {"asOf": "2026-01-15"})
    assert response.status_code == 200
    assert response.json()["data"]["customer"] == {"referenceId": "T", "name": "Target Ltd"}
