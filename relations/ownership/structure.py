"""`ownership_structure`: the ownership structure of a company on a date.

Four queries whatever the size of the structure: the customer's own connections (one
query, holders joined), the recursive walk (walk.py), and one primary-key read of the
customers the answer names (derived UBOs, their path nodes, cycle members).
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Q

from customers.models import AccountType, Customer
from relations.models import Connection, Role
from relations.ownership.walk import MAX_DEPTH, RawPath, aggregate, fetch_walk_rows
from relations.validation import format_percentage


def valid_on(as_of: date, prefix: str = "") -> Q:
    """Connections valid on `as_of`: valid_from ≤ as_of ≤ valid_to, open ends allowed."""
    return (
        Q(**{f"{prefix}valid_from__isnull": True}) | Q(**{f"{prefix}valid_from__lte": as_of})
    ) & (Q(**{f"{prefix}valid_to__isnull": True}) | Q(**{f"{prefix}valid_to__gte": as_of}))


@dataclass(frozen=True)
class Party:
    id: int
    reference_id: str
    name: str
    account_type: int
    risk_score: int | None = None
    status: str = "active"
    risk_level: str = ""

    @classmethod
    def of(cls, customer: Customer) -> "Party":
        return cls(
            id=customer.pk,
            reference_id=customer.reference_id,
            name=customer.name,
            account_type=customer.account_type,
            risk_score=customer.risk_score,
            status=customer.status,
            risk_level=customer.risk_level,
        )

    @property
    def is_person(self) -> bool:
        return self.account_type == AccountType.PERSON


@dataclass(frozen=True)
class Holding:
    """A direct connection of the company: `party` holds `role` in it."""

    connection_id: int
    party: Party
    role: str
    percentage: Decimal | None
    valid_from: date | None
    valid_to: date | None


@dataclass(frozen=True)
class OwnershipPath:
    chain: tuple[Party, ...]  # owner first, the company last
    percentages: tuple[Decimal, ...]  # percentages[i]: chain[i] holds of chain[i+1]
    effective: Decimal

    @property
    def text(self) -> str:
        parts = [self.chain[0].name]
        for percentage, party in zip(self.percentages, self.chain[1:], strict=True):
            parts.append(f"→{format_percentage(percentage, 2)}%→ {party.name}")
        return " ".join(parts) + f" = {format_percentage(self.effective, 2)}%"


@dataclass(frozen=True)
class DerivedUbo:
    party: Party
    effective: Decimal
    paths: tuple[OwnershipPath, ...]


@dataclass(frozen=True)
class Discrepancy:
    party: Party
    kind: str  # declared_not_derived | derived_not_declared
    message: str


@dataclass
class OwnershipStructure:
    customer: Party
    as_of: date
    threshold: Decimal
    directors: list[Holding] = field(default_factory=list)
    authorized_persons: list[Holding] = field(default_factory=list)
    declared_ubos: list[Holding] = field(default_factory=list)
    shareholders: list[Holding] = field(default_factory=list)
    derived_ubos: list[DerivedUbo] = field(default_factory=list)
    discrepancies: list[Discrepancy] = field(default_factory=list)
    cycles: list[tuple[Party, ...]] = field(default_factory=list)
    truncated: bool = False
    # every other connection of the company (bank accounts, account holders)
    other: list[Holding] = field(default_factory=list)


DECLARED_NOT_DERIVED = "declared_not_derived"
DERIVED_NOT_DECLARED = "derived_not_declared"


def _direct_holdings(customer: Customer, as_of: date) -> list[Holding]:
    connections = (
        Connection.objects.filter(customer=customer, organisation_id=customer.organisation_id)
        .filter(valid_on(as_of))
        .select_related("connected_customer")
        .order_by("role", "-ownership_percentage", "connected_customer__name", "id")
    )
    return [
        Holding(
            connection_id=c.pk,
            party=Party.of(c.connected_customer),
            role=c.role,
            percentage=c.ownership_percentage,
            valid_from=c.valid_from,
            valid_to=c.valid_to,
        )
        for c in connections
    ]


def _path(raw: RawPath, parties: dict[int, Party]) -> OwnershipPath:
    return OwnershipPath(
        chain=tuple(parties[node] for node in reversed(raw.nodes)),
        percentages=tuple(reversed(raw.percentages)),
        effective=raw.effective,
    )


def ownership_structure(
    *,
    customer: Customer,
    as_of: date,
    threshold: Decimal,
    max_depth: int = MAX_DEPTH,
) -> OwnershipStructure:
    """Directors, authorised persons, declared UBOs, direct shareholders, the derived
    UBOs (natural persons whose effective ownership reaches `threshold` percent) with
    the paths that explain them, the discrepancies between declared and derived UBOs,
    and the circular holdings met. Only connections valid on `as_of` count; inactive
    customers count like active ones (deactivation does not end a shareholding)."""
    target = Party.of(customer)
    structure = OwnershipStructure(customer=target, as_of=as_of, threshold=threshold)
    for holding in _direct_holdings(customer, as_of):
        bucket = {
            Role.DIRECTOR: structure.directors,
            Role.AUTHORIZED_PERSON: structure.authorized_persons,
            Role.UBO: structure.declared_ubos,
            Role.SHAREHOLDER: structure.shareholders,
        }.get(Role(holding.role), structure.other)
        bucket.append(holding)

    walk = aggregate(
        fetch_walk_rows(
            organisation_id=customer.organisation_id,
            customer_id=customer.pk,
            as_of=as_of,
            max_depth=max_depth,
        ),
        max_depth=max_depth,
        threshold=threshold,
        also_exact=[h.party.id for h in structure.declared_ubos],
    )
    structure.truncated = walk.truncated

    candidates = [h for h, value in walk.effective_by_holder.items() if value >= threshold]
    needed = {target.id}
    for holder in candidates:
        for raw in walk.paths_by_holder[holder]:
            needed.update(raw.nodes)
    for cycle in walk.cycles:
        needed.update(cycle)
    parties = {target.id: target}
    for holding in [*structure.shareholders, *structure.declared_ubos]:
        parties[holding.party.id] = holding.party
    missing = needed - parties.keys()
    if missing:
        for row in Customer.objects.filter(pk__in=missing).only(
            "id", "reference_id", "name", "account_type", "risk_score", "risk_level", "status"
        ):
            parties[row.pk] = Party.of(row)

    for holder in candidates:
        party = parties[holder]
        if not party.is_person:
            continue
        structure.derived_ubos.append(
            DerivedUbo(
                party=party,
                effective=walk.effective_by_holder[holder],
                paths=tuple(_path(raw, parties) for raw in walk.paths_by_holder[holder]),
            )
        )
    structure.derived_ubos.sort(key=lambda u: (-u.effective, u.party.name, u.party.id))
    structure.cycles = [tuple(parties[node] for node in cycle) for cycle in walk.cycles]
    structure.discrepancies = _discrepancies(structure, walk.effective_by_holder)
    return structure


def _discrepancies(
    structure: OwnershipStructure, effective: dict[int, Decimal]
) -> list[Discrepancy]:
    threshold = format_percentage(structure.threshold)
    derived = {ubo.party.id: ubo for ubo in structure.derived_ubos}
    declared: dict[int, Party] = {}
    for holding in structure.declared_ubos:
        declared.setdefault(holding.party.id, holding.party)
    found = []
    for party in declared.values():
        if party.id in derived:
            continue
        figure = effective.get(party.id)
        held = (
            f"their effective ownership is {format_percentage(figure)}%"
            if figure
            else "they hold no shares in it, directly or through other companies"
        )
        found.append(
            Discrepancy(
                party=party,
                kind=DECLARED_NOT_DERIVED,
                message=f"{party.name} ({party.reference_id}) is declared as UBO but {held}, "
                f"below the {threshold}% threshold.",
            )
        )
    for ubo in structure.derived_ubos:
        if ubo.party.id in declared:
            continue
        found.append(
            Discrepancy(
                party=ubo.party,
                kind=DERIVED_NOT_DECLARED,
                message=f"{ubo.party.name} ({ubo.party.reference_id}) owns "
                f"{format_percentage(ubo.effective)}% effectively (threshold {threshold}%) "
                "but is not declared as UBO.",
            )
        )
    return found
