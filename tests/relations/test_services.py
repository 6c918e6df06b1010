"""The connection services the API, the admin and the importer share."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from kycregistry import events
from organisations.audit import Channel, audit_context
from relations.models import Connection, Role
from relations.selectors import connections_for
from relations.services import (
    SPLIT_ROLE_MESSAGE,
    connection_add,
    connection_remove,
    connection_save,
    connection_update,
    connections_replace,
)
from relations.validation import ConnectItem, parse_connects
from tests.factories import CompanyFactory, ConnectionFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(org):
    return CompanyFactory(organisation=org, reference_id="COMP-001")


@pytest.fixture
def people(org):
    return [PersonFactory(organisation=org, reference_id=f"P{i}") for i in range(3)]


def messages(exc_info):
    return exc_info.value.messages


def test_replace_creates_keeps_updates_and_removes(company, people):
    p0, p1, p2 = people
    kept = ConnectionFactory(customer=company, connected_customer=p0, role=Role.DIRECTOR)
    changed = ConnectionFactory(
        customer=company, connected_customer=p1, role=Role.SHAREHOLDER, ownership_percentage=10
    )
    removed = ConnectionFactory(customer=company, connected_customer=p2, role=Role.UBO)
    kept_updated_at = kept.updated_at

    result = connections_replace(
        customer=company,
        items=parse_connects(
            [
                {"referenceId": "P0", "role": "DIRECTOR"},
                {"referenceId": "P1", "role": "SHAREHOLDER", "ownershipPercentage": "15.5"},
                {"referenceId": "P2", "role": "SHAREHOLDER", "validFrom": "2025-01-01"},
            ]
        ),
    )

    assert [c.pk for c in result[:2]] == [kept.pk, changed.pk]
    assert result[2].pk not in {kept.pk, changed.pk, removed.pk}
    assert result[1].ownership_percentage == Decimal("15.5")
    kept.refresh_from_db()
    assert kept.updated_at == kept_updated_at
    assert not Connection.objects.filter(pk=removed.pk).exists()
    assert list(connections_for(customer=company)) == result


def test_replace_keeps_the_list_order_stable_by_id(company, people):
    result = connections_replace(
        customer=company,
        items=parse_connects(
            [{"referenceId": p.reference_id, "role": "AUTHORIZED_PERSON"} for p in people]
        ),
    )
    assert [c.connected_customer.reference_id for c in result] == ["P0", "P1", "P2"]
    assert [c.pk for c in result] == sorted(c.pk for c in result)


def test_replace_with_identical_list_writes_nothing(company, people, django_assert_num_queries):
    items = parse_connects([{"referenceId": "P0", "role": "UBO", "ownershipPercentage": 30}])
    connections_replace(customer=company, items=items)
    history_count = Connection.history.count()
    with django_assert_num_queries(6):  # savepoint, lock, resolve, existing, result, release
        connections_replace(customer=company, items=items)
    assert Connection.history.count() == history_count


def test_replace_is_all_or_nothing(company, people):
    ConnectionFactory(customer=company, connected_customer=people[0], role=Role.DIRECTOR)
    with pytest.raises(ValidationError) as info:
        connections_replace(
            customer=company,
            items=parse_connects(
                [
                    {"referenceId": "P1", "role": "UBO"},
                    {"referenceId": "P2", "role": "SHAREHOLDER", "ownershipPercentage": 70},
                    {"referenceId": "P1", "role": "SHAREHOLDER", "ownershipPercentage": 40},
                ]
            ),
        )
    assert messages(info) == ["Shareholdings of COMP-001 add up to 110% (at most 100%)"]
    assert [c.connected_customer_id for c in Connection.objects.all()] == [people[0].pk]


def test_replace_reports_every_broken_invariant(org, company, people):
    holding = CompanyFactory(organisation=org, reference_id="HOLD")
    with pytest.raises(ValidationError) as info:
        connections_replace(
            customer=company,
            items=[
                ConnectItem("NOPE", "UBO"),
                ConnectItem("COMP-001", "BANK_ACCOUNT"),
                ConnectItem("HOLD", "DIRECTOR"),
                ConnectItem("P0", "UBO"),
                ConnectItem("P0", "UBO"),
            ],
        )
    assert messages(info) == [
        "Connected customer(s) not found: NOPE",
        "A customer cannot be connected to itself (COMP-001)",
        f"Role DIRECTOR is only valid for Person customers ({holding.reference_id})",
        "Duplicate connection: P0 already holds UBO over an overlapping period",
    ]


def test_replace_resolves_references_in_one_query(org, company, django_assert_num_queries):
    holders = PersonFactory.create_batch(5, organisation=org)
    items = [ConnectItem(h.reference_id, "BANK_ACCOUNT") for h in holders]
    # savepoint, lock, resolve, existing, insert, history insert, the customer's
    # updated_at, the KYB reaction's look for approved companies, the webhook outbox's
    # look for subscribed endpoints (once for all the write's events), result, release;
    # and the rescoring of both ends (kyc.scoring): rules, customers, sessions, High
    # risk parties held and holding, shareholdings, screening hits, one bulk update
    with django_assert_num_queries(19):
        connections_replace(customer=company, items=items)


def test_replace_announces_only_a_change(company, people, announced):
    connections_replace(customer=company, items=[ConnectItem("P0", "UBO")])
    connections_replace(customer=company, items=[ConnectItem("P0", "UBO")])  # no change
    (event,) = [e for e in announced if isinstance(e, events.ConnectionsChanged)]
    connection = Connection.objects.get()
    assert event.customer_ids == {company.pk}
    assert event.holder_ids == {people[0].pk}
    assert (event.added, event.updated, event.removed) == ((connection.pk,), (), ())


def test_every_service_announces_what_it_changed(company, people, announced):
    connection = connection_add(customer=company, item=ConnectItem("P0", "UBO"))
    pk = connection.pk
    connection_update(connection=connection, data={"role": "DIRECTOR"})
    connection_remove(connection=connection)
    saved = connection_save(
        connection=Connection(customer=company, connected_customer=people[1], role=Role.DIRECTOR)
    )
    changes = [
        (e.added, e.updated, tuple((r.id, r.role) for r in e.removed))
        for e in announced
        if isinstance(e, events.ConnectionsChanged)
    ]
    assert changes == [
        ((pk,), (), ()),
        ((), (pk,), ()),
        ((), (), ((pk, "DIRECTOR"),)),
        ((saved.pk,), (), ()),
    ]


def test_every_connection_write_moves_the_customers_updated_at(company, people):
    def updated_at():
        return type(company).objects.values_list("updated_at", flat=True).get(pk=company.pk)

    seen = [updated_at()]
    connections_replace(customer=company, items=[ConnectItem("P0", "UBO")])
    seen.append(updated_at())
    connections_replace(customer=company, items=[ConnectItem("P0", "UBO")])  # no change
    assert updated_at() == seen[-1]
    connection = connection_add(customer=company, item=ConnectItem("P1", "DIRECTOR"))
    seen.append(updated_at())
    connection_update(connection=connection, data={"validFrom": "2025-01-01"})
    seen.append(updated_at())
    connection_remove(connection=connection)
    seen.append(updated_at())
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert not company.history.filter(history_type="~").exists()


def test_history_channel_and_types(company, people):
    with audit_context(channel=Channel.COMMAND):
        connections_replace(customer=company, items=[ConnectItem("P0", "UBO")])
        connections_replace(customer=company, items=[ConnectItem("P1", "UBO")])
        connection = connection_add(customer=company, item=ConnectItem("P2", "DIRECTOR"))
        connection_update(connection=connection, data={"validFrom": "2025-01-01"})
        connection_remove(connection=connection)
    history = Connection.history.order_by("history_id")
    assert [(h.connected_customer_id, h.history_type) for h in history] == [
        (people[0].pk, "+"),
        (people[0].pk, "-"),
        (people[1].pk, "+"),
        (people[2].pk, "+"),
        (people[2].pk, "~"),
        (people[2].pk, "-"),
    ]
    assert {h.history_channel for h in history} == {Channel.COMMAND}


def test_add_rejects_what_the_list_would(company, people):
    connection_add(customer=company, item=ConnectItem("P0", "UBO"))
    with pytest.raises(ValidationError) as info:
        connection_add(customer=company, item=ConnectItem("P0", "UBO", valid_from=None))
    assert messages(info) == [
        "Duplicate connection: P0 already holds UBO over an overlapping period"
    ]
    with pytest.raises(ValidationError) as info:
        connection_add(customer=company, item=ConnectItem("ZZ", "UBO"))
    assert messages(info) == ["Connected customer(s) not found: ZZ"]


def test_update_moves_a_period_and_keeps_the_id(company, people):
    connection = connection_add(
        customer=company, item=ConnectItem("P0", "SHAREHOLDER", Decimal("40"))
    )
    updated = connection_update(
        connection=connection, data={"validFrom": "2025-01-01", "ownershipPercentage": "45"}
    )
    assert updated.pk == connection.pk
    updated.refresh_from_db()
    assert updated.ownership_percentage == Decimal("45")
    assert str(updated.valid_from) == "2025-01-01"


def test_update_checks_against_other_connections(company, people):
    connection_add(customer=company, item=ConnectItem("P0", "UBO", valid_to=date(2024, 12, 31)))
    later = connection_add(
        customer=company, item=ConnectItem("P0", "UBO", valid_from=date(2025, 1, 1))
    )
    with pytest.raises(ValidationError) as info:
        connection_update(connection=later, data={"validFrom": "2024-06-01"})
    assert messages(info) == [
        "Duplicate connection: P0 already holds UBO over an overlapping period"
    ]
    with pytest.raises(ValidationError) as info:
        connection_update(connection=later, data={"role": "director-and-shareholder"})
    assert info.value.message_dict == {"role": [SPLIT_ROLE_MESSAGE]}
    later.refresh_from_db()
    assert (later.role, later.valid_from) == (Role.UBO, date(2025, 1, 1))


def test_connection_save_validates_the_instance(org, company, people, other_org):
    with pytest.raises(ValidationError) as info:
        connection_save(
            connection=Connection(
                customer=company,
                connected_customer=CompanyFactory(organisation=org, reference_id="C9"),
                role=Role.UBO,
            )
        )
    assert messages(info) == ["Role UBO is only valid for Person customers (C9)"]

    with pytest.raises(ValidationError) as info:
        connection_save(
            connection=Connection(
                customer=company,
                connected_customer=PersonFactory(organisation=other_org),
                role=Role.UBO,
            )
        )
    assert messages(info) == ["Both customers must belong to the same organisation."]

    with pytest.raises(ValidationError) as info:
        connection_save(
            connection=Connection(
                customer=company,
                connected_customer=people[0],
                role=Role.SHAREHOLDER,
                ownership_percentage=Decimal("100.5"),
            )
        )
    assert "ownership_percentage" in info.value.message_dict or messages(info)

    with pytest.raises(ValidationError) as info:
        connection_save(
            connection=Connection(
                customer=company,
                connected_customer=people[0],
                role=Role.DIRECTOR,
                ownership_percentage=Decimal("5"),
            )
        )
    assert messages(info) == ["Role DIRECTOR does not carry an ownership percentage (P0)"]
    assert not Connection.objects.exists()


def test_connection_save_creates_and_updates(company, people):
    connection = connection_save(
        connection=Connection(
            customer=company,
            connected_customer=people[0],
            role=Role.SHAREHOLDER,
            ownership_percentage=Decimal("60"),
        )
    )
    assert connection.organisation_id == company.organisation_id
    connection.ownership_percentage = Decimal("70")
    connection_save(connection=connection)
    other = Connection(
        customer=company,
        connected_customer=people[1],
        role=Role.SHAREHOLDER,
        ownership_percentage=Decimal("31"),
    )
    with pytest.raises(ValidationError) as info:
        connection_save(connection=other)
    assert messages(info) == ["Shareholdings of COMP-001 add up to 101% (at most 100%)"]
    assert Connection.objects.get().ownership_percentage == Decimal("70")


def test_update_without_a_change_writes_nothing(company, people):
    connection = connection_add(
        customer=company, item=ConnectItem("P0", "SHAREHOLDER", Decimal("40"))
    )
    updated_at = connection.updated_at
    result = connection_update(connection=connection, data={"ownershipPercentage": "40.0"})
    assert result.pk == connection.pk
    assert result.updated_at == updated_at
    assert connection.history.count() == 1
