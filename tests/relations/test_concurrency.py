"""Concurrent writers of one customer's connections (PostgreSQL: real row locks)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection as db_connection
from rest_framework.test import APIClient

from organisations.models import Scope
from organisations.services import api_key_create
from relations.models import Connection, Role
from tests.factories import CompanyFactory, OrganisationFactory, PersonFactory
from tests.markers import postgres_only

pytestmark = [pytest.mark.django_db(transaction=True), postgres_only]

THREADS = 4


def run_together(calls):
    """Run each call in its own thread, released at the same moment; return results."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # surfaced by the assertions below
            results[index] = exc
        finally:
            db_connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.fixture
def setup():
    organisation = OrganisationFactory()
    _, raw_key = api_key_create(
        organisation=organisation, scopes=[Scope.KYC_READ, Scope.KYC_CREATE], name="race"
    )
    company = CompanyFactory(organisation=organisation, reference_id="TARGET")
    people = [
        PersonFactory(organisation=organisation, reference_id=f"P{i}") for i in range(THREADS * 3)
    ]
    return raw_key, company, people


def client(raw_key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return api


def put_call(raw_key, connects):
    def call():
        return client(raw_key).put(
            "/api/v1/customers/TARGET/connections", {"connects": connects}, format="json"
        )

    return call


def current_list(company):
    return sorted(
        (c.connected_customer.reference_id, c.role, c.ownership_percentage)
        for c in Connection.objects.filter(customer=company).select_related("connected_customer")
    )


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_puts_leave_exactly_one_callers_list(setup, round_):
    raw_key, company, people = setup
    lists = [
        [
            {
                "referenceId": people[t * 3 + k].reference_id,
                "role": "SHAREHOLDER",
                "ownershipPercentage": "30",
            }
            for k in range(3)
        ]
        + [{"referenceId": people[0].reference_id, "role": "DIRECTOR"}]
        for t in range(THREADS)
    ]

    results = run_together([put_call(raw_key, connects) for connects in lists])

    assert [getattr(r, "status_code", r) for r in results] == [200] * THREADS
    expected = [
        sorted(
            (item["referenceId"], item["role"], Decimal(item["ownershipPercentage"]))
            if "ownershipPercentage" in item
            else (item["referenceId"], item["role"], None)
            for item in connects
        )
        for connects in lists
    ]
    final = current_list(company)
    assert final in expected
    # Each response is the list its caller asked for, as it stood at its commit.
    for response, wanted in zip(results, expected, strict=True):
        data = response.json()["data"]
        got = sorted(
            (
                c["connectedCustomer"]["referenceId"],
                c["role"],
                None if c["ownershipPercentage"] is None else Decimal(c["ownershipPercentage"]),
            )
            for c in data
        )
        assert got == wanted


def test_concurrent_adds_never_push_shareholdings_past_100(setup):
    raw_key, company, people = setup

    def add(person):
        def call():
            return client(raw_key).post(
                "/api/v1/customers/TARGET/connections",
                {
                    "referenceId": person.reference_id,
                    "role": "SHAREHOLDER",
                    "ownershipPercentage": "40",
                },
                format="json",
            )

        return call

    results = run_together([add(person) for person in people[:THREADS]])

    statuses = sorted(getattr(r, "status_code", r) for r in results)
    assert statuses == [201, 201] + [400] * (THREADS - 2)
    refused = [r.json()["message"] for r in results if r.status_code == 400]
    assert set(refused) == {"Shareholdings of TARGET add up to 120% (at most 100%)"}
    total = sum(
        c.ownership_percentage
        for c in Connection.objects.filter(customer=company, role=Role.SHAREHOLDER)
    )
    assert total == Decimal("80")
