"""Who is screened for a customer: itself, its connected parties, its derived UBOs."""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from customers.models import Customer
from relations.models import Connection, Role
from relations.ownership import ownership_structure, valid_on
from screening.matching import COMPANY, PERSON, Subject, birth_date_text
from screening.models import DERIVED_UBO, SELF

HELD_SUFFIX = "_IN"  # DIRECTOR_IN: the customer is a director of the matched party


def party_subject(party: Customer) -> Subject:
    names = [party.name]
    if party.is_person:
        names.append(f"{party.given_name} {party.family_name}".strip())
    else:
        names.append(party.legal_name)
    return Subject.build(
        schema=PERSON if party.is_person else COMPANY,
        names=names,
        birth_dates=birth_date_text(party.birth_date) if party.is_person else (),
        countries=(party.country,) if party.country else (),
    )


def parties_of(
    *, customers: Sequence[Customer], as_of: date, threshold: Decimal
) -> dict[int, list[tuple[Customer, str]]]:
    """customer id → [(party, role)], the customer itself first (role SELF), then the
    holders of roles in it (their role), the parties it holds a role in (role + `_IN`)
    and its derived UBOs not met before (DERIVED_UBO); each party once. Connections
    valid on `as_of` only. Two queries, plus one ownership walk per company held by
    another company (only there can a derived UBO be indirect)."""
    by_id = {customer.pk: customer for customer in customers}
    result: dict[int, dict[int, tuple[Customer, str]]] = {
        pk: {pk: (customer, SELF)} for pk, customer in by_id.items()
    }
    walk: set[int] = set()
    holders = (
        Connection.objects.filter(valid_on(as_of), customer_id__in=by_id)
        .select_related("connected_customer")
        .order_by("id")
    )
    for connection in holders:
        party = connection.connected_customer
        result[connection.customer_id].setdefault(party.pk, (party, connection.role))
        if connection.role == Role.SHAREHOLDER and not party.is_person:
            walk.add(connection.customer_id)
    held = (
        Connection.objects.filter(valid_on(as_of), connected_customer_id__in=by_id)
        .select_related("customer")
        .order_by("id")
    )
    for connection in held:
        party = connection.customer
        role = f"{connection.role}{HELD_SUFFIX}"
        result[connection.connected_customer_id].setdefault(party.pk, (party, role))
    parties_by_id = {pk: party for found in result.values() for pk, (party, _) in found.items()}
    for pk in sorted(walk):
        structure = ownership_structure(customer=by_id[pk], as_of=as_of, threshold=threshold)
        missing = [ubo.party.id for ubo in structure.derived_ubos]
        missing = [ubo for ubo in missing if ubo not in result[pk]]
        if not missing:
            continue
        unknown = [ubo for ubo in missing if ubo not in parties_by_id]
        parties_by_id.update(Customer.objects.in_bulk(unknown))
        for ubo in missing:
            result[pk][ubo] = (parties_by_id[ubo], DERIVED_UBO)
    return {pk: list(found.values()) for pk, found in result.items()}
