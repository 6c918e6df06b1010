"""`relationship_graph`: a customer's network for the admin's relationship map.

Breadth-first in both directions (the customer's holders and what it holds), one query
per level (depth ≤ 4), one query for the customers, plus the three queries of
`ownership_structure` whose derived-UBO paths are highlighted (and added when they
reach beyond the chosen depth). A node with more than `fan_out` new neighbours shows
the first ones (shareholders by size first) and one "and N more" node.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Q

from customers.models import AccountType, Customer
from relations.models import Connection, Role
from relations.ownership.structure import (
    OwnershipStructure,
    Party,
    format_percentage,
    ownership_structure,
    valid_on,
)

MAX_GRAPH_DEPTH = 4
DEFAULT_FAN_OUT = 25
ROLE_ORDER = {
    Role.UBO: 0,
    Role.SHAREHOLDER: 1,
    Role.DIRECTOR: 2,
    Role.AUTHORIZED_PERSON: 3,
    Role.ACCOUNT_HOLDER: 4,
    Role.BANK_ACCOUNT: 5,
}
RISK_CLASSES = {"Low risk": "low", "Medium risk": "medium", "High risk": "high"}


@dataclass(frozen=True)
class Edge:
    id: str
    holder: int
    company: int
    role: str
    percentage: Decimal | None

    @property
    def label(self) -> str:
        if self.percentage is None:
            return self.role
        return f"{self.role} {format_percentage(self.percentage, 2)}%"


def _node(party: Party | Customer, *, center: int, ubos: set[int]) -> dict[str, Any]:
    is_person = party.account_type == AccountType.PERSON
    risk = RISK_CLASSES.get(party.risk_level or "", "unknown")
    pk = party.id if isinstance(party, Party) else party.pk
    return {
        "id": str(pk),
        "pk": pk,
        "kind": "customer",
        "label": party.name,
        "referenceId": party.reference_id,
        "accountType": "person" if is_person else "company",
        "risk": risk,
        "riskScore": party.risk_score,
        "center": pk == center,
        "derivedUbo": pk in ubos,
        "inactive": party.status != "active",
    }


@dataclass
class _Walk:
    """What the breadth-first walk has reached so far."""

    visited: set[int]
    edges: dict[str, Edge] = field(default_factory=dict)
    more: list[dict[str, Any]] = field(default_factory=list)  # "and N more" nodes
    more_edges: list[dict[str, Any]] = field(default_factory=list)


def _sort_key(item: tuple[int, Edge]) -> tuple[int, Decimal | int, int]:
    other, edge = item
    return (ROLE_ORDER.get(Role(edge.role), 9), -(edge.percentage or 0), other)


def _walk(*, customer: Customer, as_of: date, depth: int, fan_out: int) -> _Walk:
    """Connections valid on `as_of`, level by level in both directions, one query a level."""
    walk = _Walk(visited={customer.pk})
    frontier = {customer.pk}
    base = Connection.objects.filter(organisation_id=customer.organisation_id).filter(
        valid_on(as_of)
    )
    for _level in range(depth):
        if not frontier:
            break
        rows = base.filter(
            Q(customer_id__in=frontier) | Q(connected_customer_id__in=frontier)
        ).values_list("id", "customer_id", "connected_customer_id", "role", "ownership_percentage")
        by_node: dict[int, list[tuple[int, Edge]]] = defaultdict(list)
        for pk, company, holder, role, percentage in rows:
            edge = Edge(f"c{pk}", holder, company, role, percentage)
            if edge.id in walk.edges:
                continue
            if company in frontier:
                by_node[company].append((holder, edge))
            if holder in frontier and company not in frontier:
                by_node[holder].append((company, edge))
        frontier = set()
        for node, neighbours in sorted(by_node.items()):
            frontier |= _expand(walk, node, sorted(neighbours, key=_sort_key), fan_out)
    return walk


def _expand(walk: _Walk, node: int, neighbours: list[tuple[int, Edge]], fan_out: int) -> set[int]:
    """Show a node's edges to known nodes and to its first `fan_out` new neighbours (one
    "and N more" node for the rest); returns the neighbours reached for the first time."""
    new = [item for item in neighbours if item[0] not in walk.visited]
    old = [item for item in neighbours if item[0] in walk.visited]
    shown, hidden = new[:fan_out], new[fan_out:]
    reached = set()
    for other, edge in old + shown:
        walk.edges[edge.id] = edge
        if other not in walk.visited:
            walk.visited.add(other)
            reached.add(other)
    if hidden:
        more_id = f"more-{node}-{len(walk.more)}"
        walk.more.append(
            {
                "id": more_id,
                "kind": "more",
                "label": f"and {len(hidden)} more",
                "hidden": len(hidden),
            }
        )
        walk.more_edges.append(
            {"id": f"e-{more_id}", "source": more_id, "target": str(node), "label": ""}
        )
    return reached


def _add_ubo_paths(
    walk: _Walk, structure: OwnershipStructure
) -> tuple[dict[int, Party], set[tuple[int, int]]]:
    """The derived UBOs' paths: their parties, the (owner, owned) pairs to highlight, and
    the shareholdings that lie beyond the walk's depth, added as edges."""
    parties: dict[int, Party] = {}
    highlighted: set[tuple[int, int]] = set()
    for ubo in structure.derived_ubos:
        for path in ubo.paths:
            for index, owner in enumerate(path.chain[:-1]):
                owned = path.chain[index + 1]
                highlighted.add((owner.id, owned.id))
                parties[owner.id] = owner
                parties[owned.id] = owned
                present = any(
                    e.holder == owner.id and e.company == owned.id and e.role == Role.SHAREHOLDER
                    for e in walk.edges.values()
                )
                if not present:
                    walk.edges[f"p{owner.id}-{owned.id}"] = Edge(
                        f"p{owner.id}-{owned.id}",
                        owner.id,
                        owned.id,
                        Role.SHAREHOLDER,
                        path.percentages[index],
                    )
    return parties, highlighted


def relationship_graph(
    *,
    customer: Customer,
    as_of: date,
    depth: int = 2,
    fan_out: int = DEFAULT_FAN_OUT,
    threshold: Decimal | None = None,
) -> dict[str, Any]:
    depth = max(1, min(depth, MAX_GRAPH_DEPTH))
    threshold = customer.organisation.ownership_threshold if threshold is None else threshold
    walk = _walk(customer=customer, as_of=as_of, depth=depth, fan_out=fan_out)
    structure = ownership_structure(customer=customer, as_of=as_of, threshold=threshold)
    ubos = {ubo.party.id for ubo in structure.derived_ubos}
    path_parties, highlighted = _add_ubo_paths(walk, structure)

    loaded = {
        c.pk: c
        for c in Customer.objects.filter(pk__in=walk.visited - path_parties.keys()).only(
            "id", "reference_id", "name", "account_type", "risk_score", "risk_level", "status"
        )
    }
    nodes = [_node(c, center=customer.pk, ubos=ubos) for c in loaded.values()]
    nodes += [_node(p, center=customer.pk, ubos=ubos) for p in path_parties.values()]
    nodes.sort(key=lambda n: (not n["center"], n["label"], n["pk"]))
    edge_list = [
        {
            "id": edge.id,
            "source": str(edge.holder),
            "target": str(edge.company),
            "role": edge.role,
            "label": edge.label,
            "highlighted": edge.role == Role.SHAREHOLDER
            and (edge.holder, edge.company) in highlighted,
        }
        for edge in walk.edges.values()
    ]
    return {
        "center": str(customer.pk),
        "asOf": as_of.isoformat(),
        "depth": depth,
        "threshold": format_percentage(threshold),
        "nodes": nodes + walk.more,
        "edges": edge_list + walk.more_edges,
        "derivedUbos": [
            {
                "id": str(ubo.party.id),
                "name": ubo.party.name,
                "effectiveOwnership": format_percentage(ubo.effective),
            }
            for ubo in structure.derived_ubos
        ],
        "cycles": [[p.reference_id for p in cycle] for cycle in structure.cycles],
    }
