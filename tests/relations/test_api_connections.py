"""Seed 000's connection endpoints and seeds 003/004's single-connection operations."""

import re

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from relations.models import Connection, Role
from tests.factories import CompanyFactory, ConnectionFactory, PersonFactory

pytestmark = pytest.mark.django_db

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def url(ref, connection_id=None):
    base = f"/api/v1/customers/{ref}/connections"
    return base if connection_id is None else f"{base}/{connection_id}"


@pytest.fixture
def company(org):
    return CompanyFactory(organisation=org, reference_id="COMP-001", name="Acme Ltd")


@pytest.fixture
def jane(org):
    return PersonFactory(organisation=org, reference_id="TRUST-002", name="Jane Doe")


@pytest.fixture
def john(org):
    return PersonFactory(organisation=org, reference_id="PER-003", name="John Roe")


@pytest.fixture
def holdco(org):
    return CompanyFactory(organisation=org, reference_id="SHARE-003", name="Green Capital")


def refs_roles(response):
    return [(c["connectedCustomer"]["referenceId"], c["role"]) for c in response.json()["data"]]


def error(response):
    return response.status_code, response.json()["message"]


# --- GET ---------------------------------------------------------------------------


def test_get_lists_connections_in_seed_000_shape(api, company, jane, holdco):
    first = ConnectionFactory(customer=company, connected_customer=jane, role=Role.UBO)
    ConnectionFactory(
        customer=company,
        connected_customer=holdco,
        role=Role.SHAREHOLDER,
        ownership_percentage="30.5",
        valid_from="2025-01-01",
    )

    response = api.get(url("COMP-001"))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == 200
    assert body["code"] == "info"
    assert body["message"] == "Customer connections fetched successfully"
    assert "meta" not in body
    ubo, holding = body["data"]
    assert set(ubo) == {
        "id",
        "role",
        "createdAt",
        "updatedAt",
        "connectedCustomer",
        "ownershipPercentage",
        "validFrom",
        "validTo",
    }
    assert ubo["id"] == str(first.pk)
    assert ubo["role"] == "UBO"
    assert ISO_MS.match(ubo["createdAt"]) and ISO_MS.match(ubo["updatedAt"])
    assert ubo["connectedCustomer"] == {"name": "Jane Doe", "referenceId": "TRUST-002"}
    assert ubo["ownershipPercentage"] is None
    assert ubo["validFrom"] is None and ubo["validTo"] is None
    assert holding["ownershipPercentage"] == "30.5"
    assert holding["validFrom"] == "2025-01-01"


def test_get_query_count_does_not_grow_with_connections(
    api, org, company, django_assert_num_queries
):
    holders = PersonFactory.create_batch(4, organisation=org)
    ConnectionFactory(customer=company, connected_customer=holders[0], role=Role.DIRECTOR)
    api.get(url("COMP-001"))  # the key's lastUsedAt is written on the first call only
    with CaptureQueriesContext(db_connection) as one:
        assert api.get(url("COMP-001")).status_code == 200
    for holder in holders[1:]:
        ConnectionFactory(customer=company, connected_customer=holder, role=Role.DIRECTOR)
    with django_assert_num_queries(len(one.captured_queries)):
        response = api.get(url("COMP-001"))
    assert len(response.json()["data"]) == 4


def test_get_unknown_customer_is_404(api):
    response = api.get(url("NOPE"))
    assert response.status_code == 404
    assert response.json() == {
        "message": "Customer not found",
        "error": "Not Found",
        "statusCode": 404,
    }


def test_get_needs_a_key(anon_api, company):
    assert anon_api.get(url("COMP-001")).status_code == 401


def test_readonly_key_can_read(readonly_api, company):
    assert readonly_api.get(url("COMP-001")).status_code == 200


# --- PUT ---------------------------------------------------------------------------


def test_put_replaces_the_list_as_in_seed_000(api, company, jane, john, holdco):
    response = api.put(
        url("COMP-001"),
        {
            "connects": [
                {"referenceId": "PER-003", "role": "DIRECTOR"},
                {"referenceId": "TRUST-002", "role": "UBO"},
                {"referenceId": "SHARE-003", "role": "SHAREHOLDER"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["message"] == "Customer connections updated successfully"
    assert refs_roles(response) == [
        ("PER-003", "DIRECTOR"),
        ("TRUST-002", "UBO"),
        ("SHARE-003", "SHAREHOLDER"),
    ]
    assert Connection.objects.filter(customer=company).count() == 3


def test_put_keeps_id_and_created_at_of_retained_connections(api, company, jane, john):
    kept = ConnectionFactory(
        customer=company, connected_customer=jane, role=Role.SHAREHOLDER, ownership_percentage=40
    )
    dropped = ConnectionFactory(customer=company, connected_customer=john, role=Role.DIRECTOR)
    before = api.get(url("COMP-001")).json()["data"][0]

    response = api.put(
        url("COMP-001"),
        {
            "connects": [
                {"referenceId": "TRUST-002", "role": "SHAREHOLDER", "ownershipPercentage": "40"},
                {"referenceId": "PER-003", "role": "UBO"},
            ]
        },
        format="json",
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert data[0]["id"] == str(kept.pk)
    assert data[0]["createdAt"] == before["createdAt"]
    assert data[0]["updatedAt"] == before["updatedAt"]  # unchanged: not written
    assert data[1]["role"] == "UBO" and data[1]["id"] != str(dropped.pk)
    assert not Connection.objects.filter(pk=dropped.pk).exists()


def test_put_changing_a_percentage_keeps_the_connection(api, company, jane):
    kept = ConnectionFactory(
        customer=company, connected_customer=jane, role=Role.SHAREHOLDER, ownership_percentage=40
    )
    response = api.put(
        url("COMP-001"),
        {
            "connects": [
                {"referenceId": "TRUST-002", "role": "SHAREHOLDER", "ownershipPercentage": 60}
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    (item,) = response.json()["data"]
    assert item["id"] == str(kept.pk)
    assert item["ownershipPercentage"] == "60"


def test_put_with_an_empty_list_removes_everything(api, company, jane):
    ConnectionFactory(customer=company, connected_customer=jane, role=Role.UBO)
    response = api.put(url("COMP-001"), {"connects": []}, format="json")
    assert response.status_code == 200
    assert response.json()["data"] == []
    assert not Connection.objects.filter(customer=company).exists()


def test_put_without_connects_is_400(api, company):
    assert error(api.put(url("COMP-001"), {}, format="json")) == (400, "connects is required")
    assert error(api.put(url("COMP-001"), [], format="json")) == (400, "connects is required")


def test_put_with_other_keys_is_400(api, company):
    response = api.put(url("COMP-001"), {"connects": [], "extra": 1}, format="json")
    assert error(response) == (400, "Unknown field(s): extra. Allowed: connects.")


def test_put_connects_not_a_list_is_400(api, company):
    response = api.put(url("COMP-001"), {"connects": {"referenceId": "X"}}, format="json")
    assert error(response) == (400, "connects must be a list")


def test_put_unknown_customer_is_404_as_in_seed_000(api):
    response = api.put(url("NOPE"), {"connects": []}, format="json")
    assert response.status_code == 404
    assert response.json() == {
        "message": "Customer not found",
        "error": "Not Found",
        "statusCode": 404,
    }


def test_put_unknown_connected_customer_is_400_as_in_seed_000(api, company, jane):
    response = api.put(
        url("COMP-001"),
        {
            "connects": [
                {"referenceId": "UNKNOWN-REF", "role": "DIRECTOR"},
                {"referenceId": "TRUST-002", "role": "UBO"},
                {"referenceId": "OTHER", "role": "UBO"},
                {"referenceId": "UNKNOWN-REF", "role": "UBO"},
            ]
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": "Connected customer(s) not found: UNKNOWN-REF, OTHER",
        "error": "Bad Request",
        "statusCode": 400,
    }


def test_put_wrong_account_type_is_400_as_in_seed_000(api, org, jane):
    target = PersonFactory(organisation=org, reference_id="550")
    CompanyFactory(organisation=org, reference_id="COMP-001")
    response = api.put(
        url(target.reference_id),
        {"connects": [{"referenceId": "COMP-001", "role": "UBO"}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": "Role UBO is only valid for Person customers (COMP-001)",
        "error": "Bad Request",
        "statusCode": 400,
    }


def test_put_is_all_or_nothing(api, company, jane, john):
    kept = ConnectionFactory(customer=company, connected_customer=jane, role=Role.DIRECTOR)
    response = api.put(
        url("COMP-001"),
        {
            "connects": [
                {"referenceId": "PER-003", "role": "UBO"},
                {"referenceId": "PER-003", "role": "DIRECTOR"},
                {"referenceId": "MISSING", "role": "UBO"},
            ]
        },
        format="json",
    )
    assert error(response) == (400, "Connected customer(s) not found: MISSING")
    assert list(Connection.objects.filter(customer=company)) == [kept]


def test_put_invalid_item_names_the_item(api, company, jane):
    response = api.put(
        url("COMP-001"),
        {
            "connects": [
                {"referenceId": "TRUST-002", "role": "UBO"},
                {"referenceId": "TRUST-002", "role": "DIRECTOR"},
                {"referenceId": "TRUST-002", "role": "OWNER"},
            ]
        },
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == (
        'connects[2].role: Unknown role "OWNER". Use one of UBO, DIRECTOR, SHAREHOLDER, '
        "AUTHORIZED_PERSON, BANK_ACCOUNT, ACCOUNT_HOLDER"
    )
    assert list(body["errors"]) == ["connects[2].role"]
    assert not Connection.objects.exists()


def test_put_1001_items_is_400(api, company):
    connects = [{"referenceId": f"R{i}", "role": "BANK_ACCOUNT"} for i in range(1001)]
    response = api.put(url("COMP-001"), {"connects": connects}, format="json")
    assert error(response) == (400, "connects may hold at most 1000 items (got 1001)")


def test_put_1000_items_is_accepted(api, org, company):
    holders = PersonFactory.create_batch(1000, organisation=org)
    connects = [{"referenceId": h.reference_id, "role": "BANK_ACCOUNT"} for h in holders]
    response = api.put(url("COMP-001"), {"connects": connects}, format="json")
    assert response.status_code == 200
    assert Connection.objects.filter(customer=company).count() == 1000
    assert Connection.history.filter(customer_id=company.pk, history_type="+").count() == 1000


def test_put_self_connection_is_400(api, company):
    response = api.put(
        url("COMP-001"),
        {"connects": [{"referenceId": "COMP-001", "role": "SHAREHOLDER"}]},
        format="json",
    )
    assert error(response) == (400, "A customer cannot be connected to itself (COMP-001)")


def test_put_duplicate_is_400(api, company, jane):
    response = api.put(
        url("COMP-001"),
        {
            "connects": [
                {"referenceId": "TRUST-002", "role": "SHAREHOLDER", "validTo": "2025-06-30"},
                {"referenceId": "TRUST-002", "role": "SHAREHOLDER", "validFrom": "2025-06-30"},
            ]
        },
        format="json",
    )
    assert error(response) == (
        400,
        "Duplicate connection: TRUST-002 already holds SHAREHOLDER over an overlapping period",
    )


def test_put_same_role_in_consecutive_periods_is_fine(api, company, jane):
    response = api.put(
        url("COMP-001"),
        {
            "connects": [
                {"referenceId": "TRUST-002", "role": "SHAREHOLDER", "validTo": "2025-06-29"},
                {"referenceId": "TRUST-002", "role": "SHAREHOLDER", "validFrom": "2025-06-30"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    assert [(c["validFrom"], c["validTo"]) for c in response.json()["data"]] == [
        (None, "2025-06-29"),
        ("2025-06-30", None),
    ]


def test_put_shareholdings_above_100_are_refused(api, company, jane, holdco):
    response = api.put(
        url("COMP-001"),
        {
            "connects": [
                {"referenceId": "TRUST-002", "role": "SHAREHOLDER", "ownershipPercentage": "60"},
                {"referenceId": "SHARE-003", "role": "SHAREHOLDER", "ownershipPercentage": 60.5},
            ]
        },
        format="json",
    )
    assert error(response) == (
        400,
        "Shareholdings of COMP-001 add up to 120.5% (at most 100%)",
    )


def test_put_shareholdings_above_100_on_overlapping_periods_name_the_date(
    api, company, jane, holdco
):
    response = api.put(
        url("COMP-001"),
        {
            "connects": [
                {
                    "referenceId": "TRUST-002",
                    "role": "SHAREHOLDER",
                    "ownershipPercentage": "60",
                    "validTo": "2025-03-31",
                },
                {
                    "referenceId": "SHARE-003",
                    "role": "SHAREHOLDER",
                    "ownershipPercentage": "60",
                    "validFrom": "2025-01-01",
                },
            ]
        },
        format="json",
    )
    assert error(response) == (
        400,
        "Shareholdings of COMP-001 add up to 120% on 2025-01-01 (at most 100%)",
    )


def test_put_shareholdings_in_periods_that_do_not_overlap_may_each_be_high(
    api, company, jane, holdco
):
    response = api.put(
        url("COMP-001"),
        {
            "connects": [
                {
                    "referenceId": "TRUST-002",
                    "role": "SHAREHOLDER",
                    "ownershipPercentage": "60",
                    "validTo": "2024-12-31",
                },
                {
                    "referenceId": "SHARE-003",
                    "role": "SHAREHOLDER",
                    "ownershipPercentage": "60",
                    "validFrom": "2025-01-01",
                },
            ]
        },
        format="json",
    )
    assert response.status_code == 200


def test_put_percentage_as_string_and_number(api, company, jane, holdco):
    response = api.put(
        url("COMP-001"),
        {
            "connects": [
                {"referenceId": "TRUST-002", "role": "SHAREHOLDER", "ownershipPercentage": "30.50"},
                {"referenceId": "SHARE-003", "role": "SHAREHOLDER", "ownershipPercentage": 51},
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    assert [c["ownershipPercentage"] for c in response.json()["data"]] == ["30.5", "51"]


def test_put_percentage_on_a_director_is_400(api, company, jane):
    response = api.put(
        url("COMP-001"),
        {"connects": [{"referenceId": "TRUST-002", "role": "DIRECTOR", "ownershipPercentage": 10}]},
        format="json",
    )
    assert error(response) == (
        400,
        "connects[0].ownershipPercentage: Only SHAREHOLDER and UBO connections carry an "
        "ownership percentage (not DIRECTOR).",
    )


def test_put_representative_alias_is_stored_as_authorized_person(api, company, jane):
    response = api.put(
        url("COMP-001"),
        {"connects": [{"referenceId": "TRUST-002", "role": "REPRESENTATIVE"}]},
        format="json",
    )
    assert response.status_code == 200
    assert refs_roles(response) == [("TRUST-002", "AUTHORIZED_PERSON")]


def test_put_director_and_shareholder_makes_two_connections(api, company, jane):
    response = api.put(
        url("COMP-001"),
        {
            "connects": [
                {
                    "referenceId": "TRUST-002",
                    "role": "director-and-shareholder",
                    "ownershipPercentage": "25",
                }
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert [(c["role"], c["ownershipPercentage"]) for c in data] == [
        ("DIRECTOR", None),
        ("SHAREHOLDER", "25"),
    ]


def test_put_creates_an_inline_customer(api, company):
    response = api.put(
        url("COMP-001"),
        {
            "connects": [
                {
                    "customer": {
                        "referenceId": "NEW-1",
                        "name": "John Doe",
                        "accountTypeId": 1,
                        "identity": {"givenName": "John", "familyName": "Doe"},
                    },
                    "role": "director",
                }
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert refs_roles(response) == [("NEW-1", "DIRECTOR")]
    assert response.json()["data"][0]["connectedCustomer"]["name"] == "John Doe"


def test_put_inline_customer_is_rolled_back_with_a_bad_list(api, org, company):
    from customers.models import Customer

    response = api.put(
        url("COMP-001"),
        {
            "connects": [
                {
                    "customer": {"referenceId": "NEW-1", "name": "John Doe", "accountTypeId": 1},
                    "role": "UBO",
                },
                {"referenceId": "MISSING", "role": "UBO"},
            ]
        },
        format="json",
    )
    assert error(response) == (400, "Connected customer(s) not found: MISSING")
    assert not Customer.objects.filter(reference_id="NEW-1").exists()


def test_put_inline_customer_with_connects_is_400(api, company):
    response = api.put(
        url("COMP-001"),
        {
            "connects": [
                {
                    "customer": {
                        "referenceId": "NEW-1",
                        "name": "John Doe",
                        "accountTypeId": 1,
                        "connects": [],
                    },
                    "role": "UBO",
                }
            ]
        },
        format="json",
    )
    assert error(response) == (
        400,
        "connects[0].customer: An inline customer cannot carry connects of its own.",
    )


def test_put_history_records_each_write_with_the_api_key(api, company, jane, john):
    dropped = ConnectionFactory(customer=company, connected_customer=john, role=Role.DIRECTOR)
    changed = ConnectionFactory(
        customer=company, connected_customer=jane, role=Role.SHAREHOLDER, ownership_percentage=10
    )
    response = api.put(
        url("COMP-001"),
        {
            "connects": [
                {"referenceId": "TRUST-002", "role": "SHAREHOLDER", "ownershipPercentage": 20},
                {"referenceId": "TRUST-002", "role": "UBO"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    created_id = int(response.json()["data"][1]["id"])
    history = Connection.history.filter(history_channel="api")
    assert {(h.id, h.history_type) for h in history} == {
        (dropped.pk, "-"),
        (changed.pk, "~"),
        (created_id, "+"),
    }
    assert all(h.history_api_key_id == api.api_key.pk for h in history)
    assert history.get(history_type="~").ownership_percentage == 20


# --- POST --------------------------------------------------------------------------


def test_post_adds_one_connection(api, company, jane):
    response = api.post(
        url("COMP-001"),
        {
            "referenceId": "TRUST-002",
            "role": "SHAREHOLDER",
            "ownershipPercentage": "51",
            "validFrom": "2025-01-01",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == 201
    assert body["message"] == "Customer connection created successfully"
    connection = Connection.objects.get()
    assert body["data"]["id"] == str(connection.pk)
    assert body["data"]["ownershipPercentage"] == "51"
    assert body["data"]["validFrom"] == "2025-01-01"
    assert connection.history.get().history_type == "+"


def test_post_checks_against_the_existing_connections(api, company, jane, holdco):
    ConnectionFactory(
        customer=company, connected_customer=holdco, role=Role.SHAREHOLDER, ownership_percentage=70
    )
    response = api.post(
        url("COMP-001"),
        {"referenceId": "TRUST-002", "role": "SHAREHOLDER", "ownershipPercentage": "31"},
        format="json",
    )
    assert error(response) == (400, "Shareholdings of COMP-001 add up to 101% (at most 100%)")
    response = api.post(
        url("COMP-001"), {"referenceId": "SHARE-003", "role": "SHAREHOLDER"}, format="json"
    )
    assert error(response) == (
        400,
        "Duplicate connection: SHARE-003 already holds SHAREHOLDER over an overlapping period",
    )


def test_post_errors(api, company, holdco):
    assert error(
        api.post(url("COMP-001"), {"referenceId": "NOPE", "role": "UBO"}, format="json")
    ) == (
        400,
        "Connected customer(s) not found: NOPE",
    )
    assert error(
        api.post(url("COMP-001"), {"referenceId": "SHARE-003", "role": "UBO"}, format="json")
    ) == (400, "Role UBO is only valid for Person customers (SHARE-003)")
    assert error(api.post(url("COMP-001"), {"referenceId": "SHARE-003"}, format="json")) == (
        400,
        "role: This field is required.",
    )
    assert error(
        api.post(
            url("COMP-001"), {"referenceId": "SHARE-003", "role": "X", "foo": 1}, format="json"
        )
    ) == (
        400,
        "Unknown field(s): foo. Allowed: referenceId, customer, role, ownershipPercentage, "
        'validFrom, validTo. role: Unknown role "X". Use one of UBO, DIRECTOR, SHAREHOLDER, '
        "AUTHORIZED_PERSON, BANK_ACCOUNT, ACCOUNT_HOLDER",
    )
    assert error(
        api.post(url("NOPE"), {"referenceId": "SHARE-003", "role": "UBO"}, format="json")
    ) == (
        404,
        "Customer not found",
    )
    assert not Connection.objects.exists()


def test_post_director_and_shareholder_is_refused_with_a_hint(api, company, jane):
    response = api.post(
        url("COMP-001"),
        {"referenceId": "TRUST-002", "role": "director-and-shareholder"},
        format="json",
    )
    assert error(response) == (
        400,
        "role: director-and-shareholder makes two connections: send it in the full list "
        "(PUT .../connections) or add DIRECTOR and SHAREHOLDER one at a time.",
    )


def test_post_with_an_inline_customer(api, company):
    response = api.post(
        url("COMP-001"),
        {
            "customer": {"referenceId": "NEW-9", "name": "Ann Lee", "accountTypeId": 1},
            "role": "UBO",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["connectedCustomer"] == {
        "name": "Ann Lee",
        "referenceId": "NEW-9",
    }


# --- PATCH -------------------------------------------------------------------------


def test_patch_updates_one_connection(api, company, jane):
    connection = ConnectionFactory(
        customer=company, connected_customer=jane, role=Role.SHAREHOLDER, ownership_percentage=10
    )
    response = api.patch(
        url("COMP-001", connection.pk),
        {"ownershipPercentage": 12.25, "validTo": "2026-01-31"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Customer connection updated successfully"
    assert body["data"]["id"] == str(connection.pk)
    assert body["data"]["ownershipPercentage"] == "12.25"
    assert body["data"]["validTo"] == "2026-01-31"
    assert body["data"]["role"] == "SHAREHOLDER"
    assert connection.history.latest().history_type == "~"


def test_patch_role_change_must_drop_the_percentage(api, company, jane):
    connection = ConnectionFactory(
        customer=company, connected_customer=jane, role=Role.SHAREHOLDER, ownership_percentage=10
    )
    response = api.patch(url("COMP-001", connection.pk), {"role": "DIRECTOR"}, format="json")
    assert error(response) == (
        400,
        "ownershipPercentage: Only SHAREHOLDER and UBO connections carry an ownership "
        "percentage (not DIRECTOR).",
    )
    response = api.patch(
        url("COMP-001", connection.pk),
        {"role": "DIRECTOR", "ownershipPercentage": None},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["data"]["role"] == "DIRECTOR"


def test_patch_is_checked_against_the_other_connections(api, company, jane, holdco):
    ConnectionFactory(
        customer=company, connected_customer=holdco, role=Role.SHAREHOLDER, ownership_percentage=60
    )
    connection = ConnectionFactory(
        customer=company, connected_customer=jane, role=Role.SHAREHOLDER, ownership_percentage=40
    )
    response = api.patch(
        url("COMP-001", connection.pk), {"ownershipPercentage": "40.0001"}, format="json"
    )
    assert error(response) == (
        400,
        "Shareholdings of COMP-001 add up to 100.0001% (at most 100%)",
    )
    connection.refresh_from_db()
    assert connection.ownership_percentage == 40


def test_patch_errors(api, company, jane):
    connection = ConnectionFactory(customer=company, connected_customer=jane, role=Role.UBO)
    assert error(
        api.patch(url("COMP-001", connection.pk), {"referenceId": "X"}, format="json")
    ) == (
        400,
        "Unknown field(s): referenceId. Allowed: role, ownershipPercentage, validFrom, validTo.",
    )
    assert error(
        api.patch(url("COMP-001", connection.pk), {"validFrom": "2025-13-01"}, format="json")
    ) == (400, 'validFrom: "2025-13-01" is not a valid date.')
    assert error(api.patch(url("COMP-001", connection.pk), [1], format="json")) == (
        400,
        "Request body must be a JSON object.",
    )
    assert error(api.patch(url("COMP-001", "999999"), {}, format="json")) == (
        404,
        "Connection not found",
    )
    assert error(api.patch(url("COMP-001", "abc"), {}, format="json")) == (
        404,
        "Connection not found",
    )
    # digits int() refuses ("¹") or reads as another number ("١" is 1): not an id either
    for look_alike in ("\u00b9", "\u0661", "\uff11", "9" * 19):
        for response in (
            api.patch(url("COMP-001", look_alike), {}, format="json"),
            api.delete(url("COMP-001", look_alike)),
        ):
            assert error(response) == (404, "Connection not found")


def test_connection_of_another_customer_is_404(api, org, company, jane):
    other_company = CompanyFactory(organisation=org)
    connection = ConnectionFactory(customer=other_company, connected_customer=jane)
    assert error(api.patch(url("COMP-001", connection.pk), {}, format="json")) == (
        404,
        "Connection not found",
    )
    assert error(api.delete(url("COMP-001", connection.pk))) == (404, "Connection not found")


# --- DELETE ------------------------------------------------------------------------


def test_delete_removes_one_connection_and_records_it(api, company, jane):
    connection = ConnectionFactory(customer=company, connected_customer=jane, role=Role.UBO)
    response = api.delete(url("COMP-001", connection.pk))
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Customer connection deleted successfully"
    assert body["data"]["id"] == str(connection.pk)
    assert not Connection.objects.exists()
    record = Connection.history.get(id=connection.pk, history_type="-")
    assert record.history_channel == "api"
    assert record.history_api_key_id == api.api_key.pk


# --- tenancy and scopes ------------------------------------------------------------


def test_outsider_gets_404_everywhere(outsider_api, company, jane):
    connection = ConnectionFactory(customer=company, connected_customer=jane, role=Role.UBO)
    calls = [
        outsider_api.get(url("COMP-001")),
        outsider_api.put(url("COMP-001"), {"connects": []}, format="json"),
        outsider_api.post(
            url("COMP-001"), {"referenceId": "TRUST-002", "role": "UBO"}, format="json"
        ),
        outsider_api.patch(url("COMP-001", connection.pk), {"role": "DIRECTOR"}, format="json"),
        outsider_api.delete(url("COMP-001", connection.pk)),
    ]
    assert [error(response) for response in calls] == [(404, "Customer not found")] * 5
    assert Connection.objects.get() == connection


def test_outsider_connection_id_under_own_customer_is_404(outsider_api, other_org, company, jane):
    connection = ConnectionFactory(customer=company, connected_customer=jane, role=Role.UBO)
    CompanyFactory(organisation=other_org, reference_id="B-1")
    assert error(outsider_api.delete(url("B-1", connection.pk))) == (404, "Connection not found")
    assert Connection.objects.filter(pk=connection.pk).exists()


def test_another_organisations_reference_ids_are_not_found(api, other_org, company):
    PersonFactory(organisation=other_org, reference_id="THEIRS-1")
    PersonFactory(organisation=other_org, reference_id="THEIRS-2")
    response = api.put(
        url("COMP-001"),
        {
            "connects": [
                {"referenceId": "THEIRS-1", "role": "UBO"},
                {"referenceId": "THEIRS-2", "role": "DIRECTOR"},
            ]
        },
        format="json",
    )
    assert error(response) == (400, "Connected customer(s) not found: THEIRS-1, THEIRS-2")
    response = api.post(url("COMP-001"), {"referenceId": "THEIRS-1", "role": "UBO"}, format="json")
    assert error(response) == (400, "Connected customer(s) not found: THEIRS-1")


def test_readonly_key_cannot_write(readonly_api, company, jane):
    connection = ConnectionFactory(customer=company, connected_customer=jane, role=Role.UBO)
    calls = [
        readonly_api.put(url("COMP-001"), {"connects": []}, format="json"),
        readonly_api.post(
            url("COMP-001"), {"referenceId": "TRUST-002", "role": "DIRECTOR"}, format="json"
        ),
        readonly_api.patch(url("COMP-001", connection.pk), {"role": "DIRECTOR"}, format="json"),
        readonly_api.delete(url("COMP-001", connection.pk)),
    ]
    assert [response.status_code for response in calls] == [403] * 4
    assert Connection.objects.get() == connection


def test_schema_documents_the_connection_endpoints(api):
    response = api.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"get", "put", "post"} <= set(paths["/api/v1/customers/{reference_id}/connections"])
    detail = paths["/api/v1/customers/{reference_id}/connections/{connection_id}"]
    assert {"patch", "delete"} <= set(detail)
    assert "404" in detail["delete"]["responses"]
