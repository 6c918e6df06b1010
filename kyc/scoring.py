"""Set-based risk scoring: rescore any set of customers in a few queries per batch.

Per batch of up to BATCH customers: one read of the customers, one aggregate of their
sessions, two reads of their High risk connected parties (both directions), one
aggregate of company shareholdings; the factors are computed in Python
(`kyc.factors`); then one write. On PostgreSQL the write is a COPY into a temporary
table, one `UPDATE … FROM` it, and one `INSERT … SELECT` of history rows for the
customers whose level changed; elsewhere the ORM's bulk_update and bulk_create.

Risk writes touch only the risk columns (not `updated_at`) and announce
`RiskChanged`, never `CustomersWritten`: rescoring does not feed back into itself.
A change of level leaves a history row whose reason names the old and new level and
score and what triggered it; a new customer's first score is written onto its
creation history row instead.
"""

import itertools
import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from customers.models import AccountType, Customer, RiskLevel
from imports.sql import int_array
from kyc.factors import Facts, Score, score
from kyc.models import RiskRules, Session, SessionStatus
from kyc.rules import DEFAULT_RULES
from kycregistry import events
from organisations.audit import current_actor, history_stamp
from organisations.models import Organisation
from relations.models import Connection, Role
from relations.ownership import valid_on
from screening.models import HitStatus, ScreeningHit

BATCH = 5000
COPY_FROM = 200  # rows: below this, the ORM's bulk_update beats a temporary table
# The whole-book job reads and writes in larger batches: fewer round trips per row.
BOOK_BATCH = 20000
# Level changes spread to connected parties (connected_high_risk); a ring of parties
# that keep each other High stops after this many rounds.
MAX_PROPAGATION_ROUNDS = 5
PROPAGATION_REASON = "A connected party's risk level changed"
_temp_names = itertools.count(1)


@dataclass(frozen=True)
class RulesInForce:
    version: int  # 0: the shipped defaults (the organisation never changed them)
    rules: dict[str, Any]
    min_shareholding: Decimal


def rules_in_force(*, organisation_id: UUID) -> RulesInForce:
    """The organisation's latest rules (or the defaults) and its shareholding minimum,
    in one query."""
    latest = RiskRules.objects.filter(organisation_id=OuterRef("pk")).order_by("-version")
    row = (
        Organisation.objects.filter(pk=organisation_id)
        .annotate(
            rules_version=Subquery(latest.values("version")[:1]),
            rules_data=Subquery(latest.values("rules")[:1]),
        )
        .values_list("kyb_min_total_shareholding", "rules_version", "rules_data")
        .first()
    )
    minimum, version, rules = row or (Decimal(51), None, None)
    if isinstance(rules, str):  # a JSON subquery comes back as text on some backends
        rules = json.loads(rules)
    if version is None:
        return RulesInForce(version=0, rules=DEFAULT_RULES, min_shareholding=Decimal(minimum))
    assert isinstance(rules, dict)
    return RulesInForce(version=version, rules=rules, min_shareholding=Decimal(minimum))


@dataclass
class RescoreResult:
    scored: int = 0
    changes: list[events.RiskChange] = field(default_factory=list)

    @property
    def level_changed_ids(self) -> set[int]:
        """Customers whose level was set before and changed now."""
        return {c.customer_id for c in self.changes if c.old_level and c.old_level != c.new_level}

    @property
    def high_changed_ids(self) -> set[int]:
        """Customers that became High risk or stopped being it: their connected
        parties' connected_high_risk factor moves."""
        high = RiskLevel.HIGH
        return {
            c.customer_id for c in self.changes if (c.old_level == high) != (c.new_level == high)
        }


def _among(field: str, ids: Collection[int]) -> Q:
    """`field IN ids`. On PostgreSQL one array parameter: psycopg binds a list of
    thousands of values one by one, slower than the query itself."""
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__in": RawSQL("SELECT unnest(%s::bigint[])", [int_array(ids)])})
    return Q(**{f"{field}__in": list(ids)})


def _party(name: str, reference_id: str) -> str:
    return f"{name} ({reference_id})"


type Stored = tuple[int | None, str, list[dict[str, Any]]]


def load_facts(
    *, organisation_id: UUID, ids: Sequence[int], rules: RulesInForce
) -> tuple[dict[int, Facts], dict[int, Stored]]:
    """The facts of the organisation's customers among `ids`, and their stored
    (score, level, factors)."""
    facts: dict[int, Facts] = {}
    stored: dict[int, Stored] = {}
    # Only the registration country of the address, and custom fields only when a rule
    # reads them: decoding every JSON column costs more than the query.
    wants_custom = bool(rules.rules["customFields"])
    columns: list[Any] = [
        "id",
        "reference_id",
        "account_type",
        "country",
        KeyTextTransform("country", "address"),
        "risk_score",
        "risk_level",
        "risk_factors",
    ]
    if wants_custom:
        columns.append("custom_fields")
    rows = Customer.objects.filter(_among("id", ids), organisation_id=organisation_id).values_list(
        *columns
    )
    for (
        pk,
        reference,
        kind,
        country,
        registration,
        old_score,
        old_level,
        old_factors,
        *custom,
    ) in rows:
        facts[pk] = Facts(
            id=pk,
            reference_id=reference,
            account_type=kind,
            country=country or "",
            registration_country=(
                str(registration).upper() if registration and kind == AccountType.COMPANY else ""
            ),
            custom_fields=custom[0] if custom and isinstance(custom[0], dict) else {},
            min_shareholding=rules.min_shareholding,
        )
        stored[pk] = (old_score, old_level, old_factors)
    if not facts:
        return facts, stored
    found = list(facts)
    sessions = (
        Session.objects.filter(_among("customer_id", found))
        .values("customer_id")
        .annotate(
            total=Count("id"),
            declined=Count("id", filter=Q(status=SessionStatus.DECLINED)),
            review=Count("id", filter=Q(status=SessionStatus.REVIEW)),
            approved=Count("id", filter=Q(status=SessionStatus.APPROVED)),
        )
        .values_list("customer_id", "total", "declined", "review", "approved")
    )
    for pk, total, declined, review, approved in sessions:
        customer = facts[pk]
        customer.sessions, customer.declined = total, declined
        customer.review, customer.approved = review, approved
    if rules.rules.get("screeningHit") or rules.rules.get("screeningHitOpen"):
        hits = (
            ScreeningHit.objects.filter(_among("customer_id", found))
            .values("customer_id")
            .annotate(
                confirmed=Count("id", filter=Q(status=HitStatus.CONFIRMED)),
                open=Count("id", filter=Q(status=HitStatus.OPEN)),
            )
            .values_list("customer_id", "confirmed", "open")
        )
        for pk, confirmed, unreviewed in hits:
            facts[pk].confirmed_hits, facts[pk].open_hits = confirmed, unreviewed
    today = timezone.localdate()
    if rules.rules["connectedHighRisk"]:
        high = RiskLevel.HIGH
        held = (
            Connection.objects.filter(_among("customer_id", found))
            .filter(valid_on(today), connected_customer__risk_level=high)
            .values_list(
                "customer_id", "connected_customer__name", "connected_customer__reference_id"
            )
        )
        holding = (
            Connection.objects.filter(_among("connected_customer_id", found))
            .filter(valid_on(today), customer__risk_level=high)
            .values_list("connected_customer_id", "customer__name", "customer__reference_id")
        )
        for pk, name, reference in itertools.chain(held, holding):
            facts[pk].high_risk_parties.append(_party(name, reference))
    companies = [pk for pk, f in facts.items() if f.account_type == AccountType.COMPANY]
    if rules.rules["missingOwnership"] and companies:
        holdings = (
            Connection.objects.filter(_among("customer_id", companies), role=Role.SHAREHOLDER)
            .filter(valid_on(today))
            .values("customer_id")
            .annotate(n=Count("id"), total=Sum("ownership_percentage"))
            .values_list("customer_id", "n", "total")
        )
        for pk, count, total in holdings:
            facts[pk].shareholders = count
            # SQLite sums decimals as floats: back to the column's 4 places.
            facts[pk].shareholding = Decimal(str(total or 0)).quantize(Decimal("0.0001"))
    return facts, stored


def connected_ids(ids: Collection[int]) -> set[int]:
    """The customers connected to any of `ids`, in either direction."""
    found: set[int] = set()
    chunked = sorted(ids)
    for start in range(0, len(chunked), BATCH):
        chunk = chunked[start : start + BATCH]
        found.update(
            Connection.objects.filter(_among("customer_id", chunk)).values_list(
                "connected_customer_id", flat=True
            )
        )
        found.update(
            Connection.objects.filter(_among("connected_customer_id", chunk)).values_list(
                "customer_id", flat=True
            )
        )
    return found


def _reason(old: Stored, new: Score, why: str) -> str:
    old_score, old_level, _factors = old
    return (
        f"Risk level {old_level or 'none'} → {new.level} "
        f"(score {'none' if old_score is None else old_score} → {new.score}): {why}"
    )[:100]


@dataclass
class _Row:
    id: int
    score: Score
    reason: str | None  # a history row with this reason
    created: bool  # amend the creation history row instead
    same: bool = False  # score, level and factors as stored: only the stamp moves


def rescore_batch(
    *,
    organisation_id: UUID,
    ids: Sequence[int],
    rules: RulesInForce,
    why: str,
    created_ids: Collection[int] = (),
    instances: Mapping[int, Customer] | None = None,
) -> RescoreResult:
    """Score and write one batch (ids of the organisation, at most BATCH of them), and
    set the written risk columns on those of `instances` (the writer's customers)."""
    facts, stored = load_facts(organisation_id=organisation_id, ids=ids, rules=rules)
    result = RescoreResult(scored=len(facts))
    if not facts:
        return result
    rows: list[_Row] = []
    for pk, customer_facts in facts.items():
        new = score(customer_facts, rules.rules)
        old = stored[pk]
        # A first score is no change of level: a customer created by this write gets it
        # on its creation history row; one that predates scoring gets no row.
        created = pk in created_ids and not old[1]
        reason = None
        if old[1] and old[1] != new.level:
            reason = _reason(old, new, why)
        same = old == (new.score, new.level, new.factors)
        rows.append(_Row(pk, new, reason, created, same))
        if old[:2] != (new.score, new.level):
            result.changes.append(
                events.RiskChange(
                    customer_id=pk,
                    reference_id=customer_facts.reference_id,
                    old_score=old[0],
                    new_score=new.score,
                    old_level=old[1] or None,
                    new_level=new.level,
                )
            )
    # COPY pays off for large sets; a write's handful of rows take one bulk UPDATE.
    large = connection.vendor == "postgresql" and len(rows) > COPY_FROM
    writer = _write_postgres if large else _write_orm
    now = timezone.now()
    writer(rows, now=now, version=rules.version)
    for row in rows:
        if instances and (customer := instances.get(row.id)) is not None:
            customer.risk_score = row.score.score
            customer.risk_level = row.score.level
            customer.risk_factors = row.score.factors
            customer.risk_calculated_at = now
            customer.risk_rules_version = rules.version
    events.risk_changed(
        organisation_id=organisation_id, changes=result.changes, reason=why, actor=current_actor()
    )
    return result


def customers_rescore(
    *,
    organisation_id: UUID,
    ids: Iterable[int],
    why: str,
    created_ids: Collection[int] = (),
    propagate: bool = True,
    rules: RulesInForce | None = None,
    instances: Mapping[int, Customer] | None = None,
) -> RescoreResult:
    """Rescore the organisation's customers among `ids` in batches, inside the caller's
    transaction; then, with `propagate`, the parties connected to those whose level
    changed (their connected_high_risk factor may move), until no level changes.
    Those of `instances` (model instances by id, the writer's) get their new risk
    columns set as well."""
    rules = rules or rules_in_force(organisation_id=organisation_id)
    total = RescoreResult()
    pending = sorted(set(ids))
    reason = why
    for _round in range(MAX_PROPAGATION_ROUNDS + 1):
        changed: set[int] = set()
        for start in range(0, len(pending), BATCH):
            batch = rescore_batch(
                organisation_id=organisation_id,
                ids=pending[start : start + BATCH],
                rules=rules,
                why=reason,
                created_ids=created_ids,
                instances=instances,
            )
            total.scored += batch.scored
            total.changes.extend(batch.changes)
            changed |= batch.high_changed_ids
        if not propagate or not changed or not rules.rules["connectedHighRisk"]:
            break
        pending = sorted(connected_ids(changed))
        reason = PROPAGATION_REASON
    return total


# -- writing --------------------------------------------------------------------------

RISK_COLUMNS = (
    "risk_score",
    "risk_level",
    "risk_factors",
    "risk_calculated_at",
    "risk_rules_version",
)


def _write_orm(rows: list[_Row], *, now: datetime, version: int) -> None:
    same = [row.id for row in rows if row.same]
    for start in range(0, len(same), 500):
        Customer.objects.filter(pk__in=same[start : start + 500]).update(
            risk_calculated_at=now, risk_rules_version=version
        )
    rows = [row for row in rows if not row.same]
    if not rows:
        return
    objs = [
        Customer(
            id=row.id,
            risk_score=row.score.score,
            risk_level=row.score.level,
            risk_factors=row.score.factors,
            risk_calculated_at=now,
            risk_rules_version=version,
        )
        for row in rows
    ]
    if len(objs) == 1:  # the common case of one API write: one plain UPDATE
        values = {name: getattr(objs[0], name) for name in RISK_COLUMNS}
        Customer.objects.filter(pk=objs[0].pk).update(**values)
    else:
        Customer.objects.bulk_update(objs, RISK_COLUMNS, batch_size=500)
    historical = Customer.history.model  # type: ignore[attr-defined]
    noted = {row.id: row.reason for row in rows if row.reason}
    if noted:
        tracked = [f.attname for f in historical.tracked_fields]
        stamp = history_stamp()
        records = []
        for values in Customer.objects.filter(pk__in=list(noted)).values(*tracked):
            records.append(
                historical(
                    **values,
                    **{**stamp, "history_change_reason": noted[values["id"]]},
                    history_date=now,
                    history_type="~",
                )
            )
        historical.objects.bulk_create(records, batch_size=500)
    created: dict[tuple[int, str], list[int]] = {}
    for row in rows:
        if row.created:
            created.setdefault((row.score.score, row.score.level), []).append(row.id)
    for (value, level), pks in created.items():
        for start in range(0, len(pks), 500):
            historical.objects.filter(id__in=pks[start : start + 500], history_type="+").update(
                risk_score=value, risk_level=level
            )


_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_needs_escape = re.compile(r"[\\\t\n\r]").search


def _text(value: str | None) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    return value.translate(_ESCAPE) if _needs_escape(value) else value


def _write_postgres(rows: list[_Row], *, now: datetime, version: int) -> None:
    customers = Customer._meta.db_table
    historical = Customer.history.model  # type: ignore[attr-defined]
    temp = f"kyc_rescore_{next(_temp_names)}"
    same = [row.id for row in rows if row.same]
    rows = [row for row in rows if not row.same]
    with connection.cursor() as cursor:
        if same:
            # Most rows of a rules change keep their score: a plain UPDATE of the stamp.
            cursor.execute(
                f"UPDATE {customers} SET risk_calculated_at = %s, "  # noqa: S608
                "risk_rules_version = %s WHERE id = ANY(%s::bigint[])",
                [now, version, int_array(same)],
            )
        if not rows:
            return
        cursor.execute(
            f"CREATE TEMPORARY TABLE {temp} (id bigint, risk_score smallint, "
            "risk_level varchar(12), risk_factors jsonb, reason text, created boolean) "
            "ON COMMIT DROP"
        )
        with cursor.copy(
            f"COPY {temp} (id, risk_score, risk_level, risk_factors, reason, created) FROM STDIN"
        ) as copy:
            buffer: list[str] = []
            for row in rows:
                factors = json.dumps(row.score.factors, ensure_ascii=False, separators=(",", ":"))
                buffer.append(
                    f"{row.id}\t{row.score.score}\t{_text(row.score.level)}\t{_text(factors)}\t"
                    f"{_text(row.reason)}\t{'t' if row.created else 'f'}\n"
                )
                if len(buffer) >= 2000:
                    copy.write("".join(buffer))
                    buffer.clear()
            if buffer:
                copy.write("".join(buffer))
        cursor.execute(
            f"UPDATE {customers} AS c SET risk_score = s.risk_score, "  # noqa: S608
            "risk_level = s.risk_level, risk_factors = s.risk_factors, "
            "risk_calculated_at = %s, risk_rules_version = %s "
            f"FROM {temp} AS s WHERE c.id = s.id",
            [now, version],
        )
        if any(row.reason for row in rows):
            tracked = [connection.ops.quote_name(f.column) for f in historical.tracked_fields]
            stamp = {**history_stamp(), "history_date": now, "history_type": "~"}
            stamp.pop("history_change_reason")
            columns = [*tracked, *stamp, "history_change_reason"]
            cursor.execute(
                f"INSERT INTO {historical._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
                f"SELECT {', '.join('c.' + name for name in tracked)}, "
                f"{', '.join(['%s'] * len(stamp))}, s.reason "
                f"FROM {customers} AS c JOIN {temp} AS s ON c.id = s.id "
                "WHERE s.reason IS NOT NULL",
                list(stamp.values()),
            )
        if any(row.created for row in rows):
            cursor.execute(
                f"UPDATE {historical._meta.db_table} AS h SET risk_score = s.risk_score, "  # noqa: S608
                f"risk_level = s.risk_level FROM {temp} AS s "
                "WHERE s.created AND h.id = s.id AND h.history_type = '+'"
            )
        cursor.execute(f"DROP TABLE {temp}")


def levels_preview(*, organisation_id: UUID, rules: dict[str, Any]) -> dict[tuple[str, str], int]:
    """How many of the organisation's customers would change level under `rules`:
    (old level, new level) → count, nothing written. Connected parties count with
    their current levels."""
    current = rules_in_force(organisation_id=organisation_id)
    proposed = RulesInForce(version=0, rules=rules, min_shareholding=current.min_shareholding)
    moves: dict[tuple[str, str], int] = {}
    last = 0
    while True:
        ids = list(
            Customer.objects.filter(organisation_id=organisation_id, pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:BATCH]
        )
        if not ids:
            return moves
        facts, stored = load_facts(organisation_id=organisation_id, ids=ids, rules=proposed)
        for pk, customer_facts in facts.items():
            new = score(customer_facts, rules).level
            old = stored[pk][1] or "none"  # type: ignore[assignment]
            if old != new:
                moves[(old, new)] = moves.get((old, new), 0) + 1
        last = ids[-1]
