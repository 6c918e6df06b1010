"""The upward walk: one recursive SQL query, then exact arithmetic in Python.

The query starts at the target company and follows SHAREHOLDER connections valid on
the as-of date from the owned company to its holder, level by level. Each row is one
simple path (target → … → holder) carried as two delimited strings: the customer ids
(",T,A,B,") and the percentages held at each step ("60,50"). A step whose holder is
already on the path is emitted once, flagged `cyclic`, and not followed: that is how
circular holdings terminate. The walk stops `max_depth` levels up; the query goes one
level further only to learn whether anything was cut off.

Each row also carries a floating-point product, only to pick the holders near the
threshold cheaply; their figures are then recomputed exactly.

The same SQL runs on SQLite and PostgreSQL (`WITH RECURSIVE`, `||`, `LIKE`, `CAST … AS
TEXT`). Percentages travel as text and are multiplied as `Decimal` in Python, so the
figures are exact on both databases (SQLite has no decimal type).

Aggregation per owner happens before any customer row is read (docs/performance.md: group
by owner before joining persons): only the owners that reach the threshold, the
declared UBOs and the nodes of their paths are loaded afterwards, by primary key.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext
from typing import Any

from django.db import connection as db_connection

from relations.models import Connection, Role

MAX_DEPTH = 12
# A pathological, dense structure could have millions of simple paths; the walk stops
# reading after this many and reports the structure as truncated.
MAX_PATHS = 200_000
HUNDRED = Decimal(100)
# Exact products: each step has at most 7 significant digits, 12 steps ≤ 84 digits.
EXACT_PRECISION = 160


# holder, estimated share (float, 0–1), percentages ("60,50"), nodes (",T,A,J,"), depth, cyclic
WalkRow = tuple[int, float, str, str, int, int]


@dataclass(frozen=True)
class RawPath:
    """One simple path of shareholdings, from the target upwards to `nodes[-1]`."""

    nodes: tuple[int, ...]  # target first, holder last
    percentages: tuple[Decimal, ...]  # percentages[i]: what nodes[i+1] holds of nodes[i]
    effective: Decimal  # exact: product of percentages / 100^(n-1)


@dataclass
class Walk:
    """Paths grouped per holder, the cycles met, and whether limits cut the walk."""

    paths_by_holder: dict[int, list[RawPath]] = field(default_factory=dict)
    effective_by_holder: dict[int, Decimal] = field(default_factory=dict)
    cycles: list[tuple[int, ...]] = field(default_factory=list)  # in ownership order
    truncated: bool = False


def _edge_conditions(alias: str) -> str:
    return (
        f"{alias}.role = %s AND {alias}.organisation_id = %s"
        f" AND {alias}.ownership_percentage IS NOT NULL"
        f" AND ({alias}.valid_from IS NULL OR {alias}.valid_from <= %s)"
        f" AND ({alias}.valid_to IS NULL OR {alias}.valid_to >= %s)"
    )


def _walk_sql() -> str:
    table = Connection._meta.db_table
    return f"""
WITH RECURSIVE walk(holder, share, pcts, nodes, depth, cyclic) AS (
    SELECT c.connected_customer_id,
           CAST(c.ownership_percentage AS DOUBLE PRECISION) / 100,
           CAST(c.ownership_percentage AS TEXT),
           ',' || CAST(c.customer_id AS TEXT) || ','
               || CAST(c.connected_customer_id AS TEXT) || ',',
           1,
           0
    FROM {table} c
    WHERE c.customer_id = %s AND {_edge_conditions("c")}
    UNION ALL
    SELECT c.connected_customer_id,
           w.share * CAST(c.ownership_percentage AS DOUBLE PRECISION) / 100,
           w.pcts || ',' || CAST(c.ownership_percentage AS TEXT),
           w.nodes || CAST(c.connected_customer_id AS TEXT) || ',',
           w.depth + 1,
           CASE WHEN w.nodes LIKE '%%,' || CAST(c.connected_customer_id AS TEXT) || ',%%'
                THEN 1 ELSE 0 END
    FROM walk w JOIN {table} c ON c.customer_id = w.holder
    WHERE w.cyclic = 0 AND w.depth <= %s AND {_edge_conditions("c")}
)
SELECT holder, share, pcts, nodes, depth, cyclic FROM walk LIMIT %s
"""  # noqa: S608 - only the table name is interpolated; values are parameters


def fetch_walk_rows(
    *, organisation_id: object, customer_id: int, as_of: date, max_depth: int = MAX_DEPTH
) -> list[WalkRow]:
    """The one query of the ownership walk (see the module docstring)."""
    edge_params = [Role.SHAREHOLDER.value, _db_value(organisation_id), as_of, as_of]
    params: list[Any] = [customer_id, *edge_params, max_depth, *edge_params, MAX_PATHS + 1]
    with db_connection.cursor() as cursor:
        cursor.execute(_walk_sql(), params)
        return list(cursor.fetchall())


def _db_value(value: object) -> object:
    # Organisation ids are UUIDs: PostgreSQL compares uuid, SQLite stores 32 hex chars.
    field = Connection._meta.get_field("organisation").target_field  # type: ignore[union-attr]
    return field.get_db_prep_value(value, db_connection)


def _canonical(cycle: tuple[int, ...]) -> tuple[int, ...]:
    start = cycle.index(min(cycle))
    return cycle[start:] + cycle[:start]


def aggregate(
    rows: Iterable[WalkRow],
    *,
    max_depth: int = MAX_DEPTH,
    threshold: Decimal | None = None,
    also_exact: Iterable[int] = (),
) -> Walk:
    """Group the walk's paths per holder and sum their exact products.

    Effective ownership of holder H in the target = Σ over simple paths target → H of
    Π (percentage / 100), times 100. Simple paths are a subset of the walks that the
    integrated-ownership (Leontief) method sums over, and with each company's direct
    holdings ≤ 100% that sum never exceeds 100% for all ultimate owners together; so
    the simple-path figure never exceeds 100% either, and it never falls when a
    shareholding is added (new paths only add terms).

    With a `threshold`, only holders whose floating-point estimate comes within 1e-6
    of it (and `also_exact`) get their paths and exact figure: parsing every path of a
    large structure as Decimal would cost more than the query. Without one, all do.
    """
    walk = Walk()
    seen_cycles: set[tuple[int, ...]] = set()
    rows = list(rows)
    if len(rows) > MAX_PATHS:
        walk.truncated = True
        rows = rows[:MAX_PATHS]
    estimates: dict[int, float] = defaultdict(float)
    raw_paths: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for holder, share, pcts, nodes_text, depth, cyclic in rows:
        if cyclic:
            # nodes ends with the repeated holder: the cycle is the stretch between.
            nodes = _nodes(nodes_text)
            first = nodes.index(nodes[-1])
            upward = nodes[first:-1]  # each held by the next, the last by the first
            ownership_order = (upward[0], *reversed(upward[1:]))
            key = _canonical(ownership_order)
            if key not in seen_cycles:
                seen_cycles.add(key)
                walk.cycles.append(ownership_order)
            continue
        if depth > max_depth:
            walk.truncated = True
            continue
        estimates[holder] += float(share)
        raw_paths[holder].append((pcts, nodes_text))
    if threshold is None:
        exact = set(raw_paths)
    else:
        floor = float(threshold) / 100 - 1e-8
        exact = {h for h, estimate in estimates.items() if estimate >= floor}
        exact |= set(also_exact) & raw_paths.keys()
    with localcontext(prec=EXACT_PRECISION):
        for holder in exact:
            holder_paths = []
            for pcts, nodes_text in raw_paths[holder]:
                percentages = tuple(Decimal(part) for part in pcts.split(","))
                effective = HUNDRED
                for percentage in percentages:
                    effective = effective * percentage / HUNDRED
                holder_paths.append(
                    RawPath(nodes=_nodes(nodes_text), percentages=percentages, effective=effective)
                )
            holder_paths.sort(key=lambda p: (-p.effective, len(p.nodes), p.nodes))
            walk.paths_by_holder[holder] = holder_paths
            walk.effective_by_holder[holder] = sum((p.effective for p in holder_paths), Decimal(0))
    return walk


def _nodes(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.strip(",").split(","))
