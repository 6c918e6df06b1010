"""Who is screened for a customer: itself, its connected parties, its derived UBOs."""

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from customers.models import AccountType, Customer
from relations.models import Connection, Role
from relations.ownership import ownership_structure, valid_on
from relations.ownership.walk import MAX_DEPTH
from screening.index import CandidateIndex
from screening.matching import (
    COMPANY,
    PERSON,
    Subject,
    birth_date_text,
    token_lists,
    unique_names,
)
from screening.models import DERIVED_UBO, SELF

HELD_SUFFIX = "_IN"  # DIRECTOR_IN: the customer is a director of the matched party
# What screening reads of a party (a customer), in this order.
PARTY_FIELDS = (
    "account_type",
    "name",
    "given_name",
    "family_name",
    "legal_name",
    "birth_date",
    "country",
)


def _names(
    account_type: int, name: str, given_name: str, family_name: str, legal_name: str
) -> tuple[str, ...]:
    person = account_type == AccountType.PERSON
    return unique_names((name, f"{given_name} {family_name}".strip() if person else legal_name))


def _subject(
    account_type: int,
    name: str,
    given_name: str,
    family_name: str,
    legal_name: str,
    birth_date: date | None,
    country: str,
) -> Subject:
    person = account_type == AccountType.PERSON
    names = _names(account_type, name, given_name, family_name, legal_name)
    return Subject.build(
        schema=PERSON if person else COMPANY,
        names=names,
        birth_dates=birth_date_text(birth_date) if person else (),
        countries=(country,) if country else (),
    )


def party_subject(party: Customer) -> Subject:
    return _subject(*(getattr(party, field) for field in PARTY_FIELDS))


@dataclass
class Parties:
    """customer id → [(party id, role)], the customer itself first; and the subject of
    every party met."""

    roles: dict[int, list[tuple[int, str]]]
    subjects: dict[int, Subject]


def _subjects_of(ids: Iterable[int]) -> dict[int, Subject]:
    rows = Customer.objects.filter(pk__in=list(ids)).values_list("pk", *PARTY_FIELDS)
    return {row[0]: _subject(*row[1:]) for row in rows}


def candidates_in_organisation(
    organisation_id: UUID, index: CandidateIndex
) -> tuple[dict[int, Subject], dict[int, set[int]], list[int]]:
    """Every customer of the organisation (any status: an inactive holder still holds)
    as a party of `index`, from one query: (subject of each party with candidates,
    its candidate entry ids, the ids of the parties without any). Only the parties
    with candidates are built as subjects: against the few entries of a list update,
    nearly none."""
    rows = Customer.objects.filter(organisation_id=organisation_id).values_list("pk", *PARTY_FIELDS)
    subjects: dict[int, Subject] = {}
    candidates: dict[int, set[int]] = {}
    none: list[int] = []
    for pk, account_type, *fields in rows.iterator(chunk_size=5000):
        names = _names(account_type, *fields[:4])
        found = index.candidates_of_tokens(
            token_lists(names, company=account_type != AccountType.PERSON)
        )
        if found:
            subjects[pk] = _subject(account_type, *fields)
            candidates[pk] = found
        else:
            none.append(pk)
    return subjects, candidates, none


def _chunks(ids: Iterable[int], size: int = 900) -> Iterable[list[int]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def customers_reaching(*, organisation_id: UUID, party_ids: set[int], as_of: date) -> set[int]:
    """The customers whose parties (see `parties_of`) may include one of `party_ids`:
    themselves, the customers connected to them either way, and the companies they
    own through chains of shareholdings (where they may be derived UBOs)."""
    connections = Connection.objects.filter(valid_on(as_of), organisation_id=organisation_id)
    result = set(party_ids)
    for chunk in _chunks(party_ids):
        result.update(
            connections.filter(connected_customer_id__in=chunk).values_list(
                "customer_id", flat=True
            )
        )
        result.update(
            connections.filter(customer_id__in=chunk).values_list(
                "connected_customer_id", flat=True
            )
        )
    frontier = set(party_ids)
    for _level in range(MAX_DEPTH):
        owned: set[int] = set()
        for chunk in _chunks(frontier):
            owned.update(
                connections.filter(
                    role=Role.SHAREHOLDER, connected_customer_id__in=chunk
                ).values_list("customer_id", flat=True)
            )
        frontier = owned - result
        result |= owned
        if not frontier:
            break
    return result


def parties_of(
    *,
    customers: Sequence[Customer],
    as_of: date,
    threshold: Decimal,
    known: Container[int] = (),
) -> Parties:
    """The customer itself (role SELF), the holders of roles in it (their role), the
    parties it holds a role in (role + `_IN`) and its derived UBOs not met before
    (DERIVED_UBO); each party once per customer. Connections valid on `as_of` only.
    Two queries, plus one ownership walk per company held by another company (only
    there can a derived UBO be indirect)."""
    by_id = {customer.pk: customer for customer in customers}
    found: dict[int, dict[int, str]] = {pk: {pk: SELF} for pk in by_id}
    subjects = {pk: party_subject(c) for pk, c in by_id.items() if pk not in known}
    walk: set[int] = set()
    party_columns = [f"connected_customer__{field}" for field in PARTY_FIELDS]
    holders = (
        Connection.objects.filter(valid_on(as_of), customer_id__in=by_id)
        .order_by("id")
        .values_list("customer_id", "role", "connected_customer_id", *party_columns)
    )
    for customer_id, role, party_id, *values in holders:
        found[customer_id].setdefault(party_id, role)
        if party_id not in subjects and party_id not in known:
            subjects[party_id] = _subject(*values)
        if role == Role.SHAREHOLDER and values[0] != AccountType.PERSON:
            walk.add(customer_id)
    company_columns = [f"customer__{field}" for field in PARTY_FIELDS]
    held = (
        Connection.objects.filter(valid_on(as_of), connected_customer_id__in=by_id)
        .order_by("id")
        .values_list("connected_customer_id", "role", "customer_id", *company_columns)
    )
    for holder_id, role, party_id, *values in held:
        found[holder_id].setdefault(party_id, f"{role}{HELD_SUFFIX}")
        if party_id not in subjects and party_id not in known:
            subjects[party_id] = _subject(*values)
    for pk in sorted(walk):
        structure = ownership_structure(customer=by_id[pk], as_of=as_of, threshold=threshold)
        for ubo in structure.derived_ubos:
            found[pk].setdefault(ubo.party.id, DERIVED_UBO)
    missing = {
        pid for roles in found.values() for pid in roles if pid not in known
    } - subjects.keys()
    subjects.update(_subjects_of(missing))
    return Parties(
        roles={pk: list(roles.items()) for pk, roles in found.items()}, subjects=subjects
    )
