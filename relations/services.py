"""Every write of connections: the API, the admin and the importer call these.

Each write locks the customer row first, so two writers of one customer's connections
queue up instead of checking the 100% rule against a list the other is changing.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from customers.services import customer_upsert, customers_touch
from kycregistry import events
from organisations.audit import current_actor, history_stamp
from relations.diff import diff_connections
from relations.models import Connection
from relations.selectors import connections_for
from relations.validation import (
    ConnectItem,
    connection_errors,
    parse_connect_item,
)

PATCH_KEYS = ("role", "ownershipPercentage", "validFrom", "validTo")


def _lock(customer: Customer) -> Customer:
    return Customer.objects.select_for_update().get(pk=customer.pk)


def _prefixed(exc: ValidationError, prefix: str) -> ValidationError:
    if hasattr(exc, "error_dict"):
        return ValidationError(
            {
                prefix if key == "__all__" else f"{prefix}.{key}": messages
                for key, messages in exc.message_dict.items()
            }
        )
    return ValidationError({prefix: exc.messages})


def _upsert_inline_customers(*, customer: Customer, items: Sequence[ConnectItem]) -> None:
    """Seed 004: items carrying a `customer` object create or update that customer."""
    inline = {item.reference_id: item for item in reversed(items) if item.customer is not None}
    if not inline:
        return
    for item in sorted(inline.values(), key=lambda item: item.index):
        assert item.customer is not None
        path = f"connects[{item.index}].customer"
        if "connects" in item.customer:
            raise ValidationError({path: ["An inline customer cannot carry connects of its own."]})
        try:
            customer_upsert(organisation=customer.organisation, data=item.customer)
        except ValidationError as exc:
            raise _prefixed(exc, path) from exc


def _resolve_holders(*, customer: Customer, refs: Iterable[str]) -> dict[str, tuple[int, int]]:
    """referenceId → (id, account type) of the organisation's customers, in one query."""
    wanted = set(refs)
    if not wanted:
        return {}
    rows = (
        Customer.objects.filter(organisation_id=customer.organisation_id, reference_id__in=wanted)
        .order_by()
        .values_list("reference_id", "id", "account_type")
    )
    return {ref: (pk, account_type) for ref, pk, account_type in rows}


def _check(*, customer: Customer, items: Sequence[ConnectItem], holders: Mapping) -> None:
    errors = connection_errors(
        customer_ref=customer.reference_id,
        customer_account_type=customer.account_type,
        items=items,
        holders=holders,
    )
    if errors:
        raise ValidationError(errors)


def _as_item(connection: Connection) -> ConnectItem:
    return ConnectItem(
        reference_id=connection.connected_customer.reference_id,
        role=connection.role,
        ownership_percentage=connection.ownership_percentage,
        valid_from=connection.valid_from,
        valid_to=connection.valid_to,
    )


def _write_history(connections: Sequence[Connection], history_type: str) -> None:
    """History rows for bulk writes, stamped like the per-row saves' (`history_stamp`)."""
    if not connections:
        return
    historical = Connection.history.model
    stamp = {**history_stamp(), "history_date": timezone.now(), "history_type": history_type}
    historical.objects.bulk_create(
        [
            historical(
                **stamp,
                **{f.attname: getattr(connection, f.attname) for f in historical.tracked_fields},
            )
            for connection in connections
        ]
    )


def _removed(connection: Connection) -> events.RemovedConnection:
    return events.RemovedConnection(
        id=connection.pk,
        customer_id=connection.customer_id,
        connected_customer_id=connection.connected_customer_id,
        role=connection.role,
        ownership_percentage=connection.ownership_percentage,
        valid_from=connection.valid_from,
        valid_to=connection.valid_to,
    )


def _connections_changed(
    *,
    customer: Customer,
    added: Sequence[Connection] = (),
    updated: Sequence[Connection] = (),
    removed: Sequence[events.RemovedConnection] = (),
) -> None:
    """After a write to the customer's connections, its row locked: its updatedAt moves
    (connections are part of what a client, or a re-uploaded file, compares against),
    then the change is announced (KYB review flags react to it)."""
    customer.updated_at = customers_touch(ids=[customer.pk])
    events.connections_changed(
        organisation_id=customer.organisation_id,
        customer_ids=[customer.pk],
        holder_ids={
            *(c.connected_customer_id for c in (*added, *updated)),
            *(c.connected_customer_id for c in removed),
        },
        added=[c.pk for c in added],
        updated=[c.pk for c in updated],
        removed=removed,
        actor=current_actor(),
    )


def connections_replace(*, customer: Customer, items: Sequence[ConnectItem]) -> list[Connection]:
    """Make `items` the customer's connections, all or nothing (seed 000's PUT).

    A connection whose (holder, role, validFrom, validTo) is asked for again is kept
    with its id and createdAt; only its percentage may change. The rest are removed and
    the new ones created.
    """
    with transaction.atomic():
        locked = _lock(customer)
        _upsert_inline_customers(customer=locked, items=items)
        holders = _resolve_holders(customer=locked, refs=(item.reference_id for item in items))
        _check(customer=locked, items=items, holders=holders)

        diff = diff_connections(
            stored=Connection.objects.filter(customer=locked),
            key=lambda c: (c.connected_customer_id, c.role, c.valid_from, c.valid_to),
            percentage=lambda c: c.ownership_percentage,
            wanted=((holders[item.reference_id][0], item) for item in items),
        )
        now = timezone.now()
        created = [
            Connection(
                organisation_id=locked.organisation_id,
                customer=locked,
                connected_customer_id=holder_id,
                role=item.role,
                ownership_percentage=item.ownership_percentage,
                valid_from=item.valid_from,
                valid_to=item.valid_to,
                created_at=now,
                updated_at=now,
            )
            for holder_id, item in diff.create
        ]
        changed = []
        for kept, percentage in diff.update:
            kept.ownership_percentage = percentage
            kept.updated_at = now
            changed.append(kept)
        removed = [_removed(c) for c in diff.remove]

        # parse_connects and connection_errors have checked every field and the set;
        # the table's check constraints back them up. A full_clean() per row would cost
        # a few queries each for up to KYC_MAX_CONNECTS rows.
        if removed:
            # Connection has post_delete receivers (simple-history), so Django deletes
            # row by row and each deletion gets its history record.
            Connection.objects.filter(pk__in=[c.id for c in removed]).delete()
        if changed:
            Connection.objects.bulk_update(changed, ["ownership_percentage", "updated_at"])
            _write_history(changed, "~")
        if created:
            Connection.objects.bulk_create(created)
            _write_history(created, "+")

        if diff:
            _connections_changed(customer=locked, added=created, updated=changed, removed=removed)
        return list(connections_for(customer=locked))


def _save_checked(*, connection: Connection) -> Connection:
    """Validate one connection against the model and the customer's other connections,
    then save it. The caller holds the customer's row lock."""
    customer = connection.customer
    if connection.organisation_id is None:
        connection.organisation_id = customer.organisation_id
    if connection.connected_customer.organisation_id != customer.organisation_id or (
        connection.organisation_id != customer.organisation_id
    ):
        raise ValidationError(
            {"connectedCustomer": ["Both customers must belong to the same organisation."]}
        )
    connection.full_clean(exclude=["organisation", "customer", "connected_customer"])
    others = (
        connections_for(customer=customer).exclude(pk=connection.pk)
        if connection.pk
        else connections_for(customer=customer)
    )
    items = [*(_as_item(other) for other in others), _as_item(connection)]
    holders = {
        connection.connected_customer.reference_id: (
            connection.connected_customer_id,
            connection.connected_customer.account_type,
        )
    }
    holders.update(
        {
            other.connected_customer.reference_id: (
                other.connected_customer_id,
                other.connected_customer.account_type,
            )
            for other in others
        }
    )
    _check(customer=customer, items=items, holders=holders)
    connection.save()
    return connection


def connection_save(*, connection: Connection) -> Connection:
    """Create or update one connection instance (the admin's form), with every connection rule."""
    with transaction.atomic():
        connection.customer = _lock(connection.customer)
        created = connection.pk is None
        _save_checked(connection=connection)
        _connections_changed(
            customer=connection.customer,
            added=[connection] if created else [],
            updated=[] if created else [connection],
        )
    return connection


def connection_add(*, customer: Customer, item: ConnectItem) -> Connection:
    """Add one connection (seeds 003/004): the holder may be an inline customer."""
    with transaction.atomic():
        locked = _lock(customer)
        _upsert_inline_customers(customer=locked, items=[item])
        holders = _resolve_holders(customer=locked, refs=[item.reference_id])
        if item.reference_id not in holders:
            _check(customer=locked, items=[item], holders=holders)
        connection = Connection(
            organisation_id=locked.organisation_id,
            customer=locked,
            connected_customer=Customer.objects.get(pk=holders[item.reference_id][0]),
            role=item.role,
            ownership_percentage=item.ownership_percentage,
            valid_from=item.valid_from,
            valid_to=item.valid_to,
        )
        _save_checked(connection=connection)
        _connections_changed(customer=locked, added=[connection])
    return connection


def connection_update(*, connection: Connection, data: Mapping[str, Any]) -> Connection:
    """PATCH role, ownershipPercentage, validFrom or validTo of one connection; the
    result must hold every connection rule together with the customer's other connections."""
    if not isinstance(data, Mapping):
        raise ValidationError("Request body must be a JSON object.")
    unknown = sorted(str(key) for key in data if key not in PATCH_KEYS)
    if unknown:
        raise ValidationError(
            f"Unknown field(s): {', '.join(unknown)}. Allowed: {', '.join(PATCH_KEYS)}."
        )
    with transaction.atomic():
        locked = _lock(connection.customer)
        # Merge onto the row as it is now that we hold the lock, not as the caller read it.
        connection = Connection.objects.select_related("connected_customer").get(pk=connection.pk)
        connection.customer = locked
        current = {
            "referenceId": connection.connected_customer.reference_id,
            "role": connection.role,
            "ownershipPercentage": connection.ownership_percentage,
            "validFrom": connection.valid_from,
            "validTo": connection.valid_to,
        }
        parsed, errors = parse_connect_item({**current, **data}, path="")
        if errors:
            raise ValidationError(errors)
        if len(parsed) != 1:
            raise ValidationError({"role": [SPLIT_ROLE_MESSAGE]})
        item = parsed[0]
        if item == _as_item(connection):
            return connection  # nothing changes: no write, no history row
        connection.role = item.role
        connection.ownership_percentage = item.ownership_percentage
        connection.valid_from = item.valid_from
        connection.valid_to = item.valid_to
        _save_checked(connection=connection)
        _connections_changed(customer=locked, updated=[connection])
    return connection


def connection_remove(*, connection: Connection) -> None:
    with transaction.atomic():
        locked = _lock(connection.customer)
        # As it is now that we hold the lock, not as the caller read it.
        connection = Connection.objects.get(pk=connection.pk)
        removed = _removed(connection)
        connection.delete()  # per instance: simple-history records the deletion
        _connections_changed(customer=locked, removed=[removed])


SPLIT_ROLE_MESSAGE = (
    "director-and-shareholder makes two connections: send it in the full list "
    "(PUT .../connections) or add DIRECTOR and SHAREHOLDER one at a time."
)
