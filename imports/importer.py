"""The rows of an uploaded sheet → a plan of writes, set-wise (SPEC §6, seed 000).

Each row goes through the API's own validation: `customers.validation.clean_customer`,
`relations.validation.parse_connects` and `connection_errors`. What differs from the
API is only the shape of the work: every referenceId of the file is resolved in a few
queries (customers further down the file count, so forward references work), rows
with errors are skipped and reported, rows that depend on a skipped row are skipped
in turn, and the writes are done in bulk by `imports.writer`.
"""

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Case, F, TextField, Value, When
from django.db.models.functions import Cast

from customers.models import Customer, CustomerFieldDefinition, FieldType
from customers.validation import clean_customer, reference_or_none
from imports.columns import column_of, flat_columns, fold
from imports.fingerprint import context_digest, row_digest, row_source
from imports.models import RowOutcome
from imports.sql import int_array, text_array
from organisations.models import Organisation
from relations.diff import ConnectionKey, diff_connections
from relations.models import Connection
from relations.validation import ConnectItem, connection_errors, parse_connects

REQUIRED_COLUMNS = ("name", "referenceId", "accountTypeId")
CONNECTS = "connects"
MAX_CONNECTS_CHARS = 100_000
MAX_JSON_DEPTH = 8
LOOKUP_CHUNK = 5000
PROGRESS_EVERY = 5000

# Stored columns read for every customer a file names: enough to resolve a reference
# and to prove a row unchanged by its digest (imports.fingerprint).
KEY_COLUMNS = ["id", "account_type", "import_digest"]
# And, for the rows that are validated, what a row of the template can change.
ROW_COLUMNS = ["name", "external_id", "custom_fields", "updated_at"]
# With identity/profile columns, clean_customer merges into every stored field.
CUSTOMER_FIELDS = [
    f.attname
    for f in Customer._meta.concrete_fields
    if f.attname not in ("search_text", "import_digest", "import_digest_at")
]
# How `_read` reads two columns: custom_fields as JSON text (parsed by `_loaded` for
# the rows that need it), import_digest only while it still holds (else "").
SQL_READS = {
    "custom_fields": "custom_fields::text",
    "import_digest": "CASE WHEN import_digest_at = updated_at THEN import_digest ELSE '' END",
}
ORM_READS = {
    "custom_fields": Cast("custom_fields", TextField()),
    "import_digest": Case(
        When(import_digest_at=F("updated_at"), then=F("import_digest")), default=Value("")
    ),
}
CONNECTION_COLUMNS = [
    "id",
    "customer_id",
    "connected_customer_id",
    "role",
    "valid_from",
    "valid_to",
    "ownership_percentage",
]


class ImportFailed(Exception):
    """The whole file is refused (e.g. its header); the job fails with this message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(slots=True)
class Row:
    number: int  # Excel row number (the header is row 1)
    reference: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    items: list[ConnectItem] | None = None  # None: the connects cell was empty
    errors: list[tuple[str, str]] = field(default_factory=list)
    outcome: str = RowOutcome.SKIPPED
    account_type: int | None = None
    existing: dict[str, Any] | None = None
    state: dict[str, Any] | None = None  # the customer's columns after the import
    changed: bool = False
    duplicate: bool = False
    source: str = ""  # the cells the row's import digest covers (imports.fingerprint)
    proven: bool = False  # unchanged by its digest: not validated again


@dataclass
class ConnectionPlan:
    create: list[dict[str, Any]] = field(default_factory=list)  # customer ids may be < 0
    update: list[dict[str, Any]] = field(default_factory=list)
    remove: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Plan:
    rows: list[Row]
    create: list[Row] = field(default_factory=list)
    update: list[Row] = field(default_factory=list)
    connections: ConnectionPlan = field(default_factory=ConnectionPlan)
    touched: list[Row] = field(default_factory=list)  # only their connections change
    verified: list[Row] = field(default_factory=list)  # validated and found unchanged
    # customers whose connections change: id (or -row number) → row
    connection_owners: dict[int, Row] = field(default_factory=dict)
    # customer id → ids of its stored connections, as read (checked again under lock)
    stored_connections: dict[int, frozenset[int]] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    context: bytes = b""  # the validation context of the digests (imports.fingerprint)

    def outcomes(self) -> str:
        return "".join(row.outcome for row in self.rows)

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    def row_errors(self) -> list[dict[str, Any]]:
        return [
            {"row": row.number, "column": column, "message": message}
            for row in self.rows
            for column, message in row.errors
        ]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def _depth(value: Any, limit: int) -> int:
    depth, level = 0, [value]
    while level:
        depth += 1
        if depth > limit:
            return depth
        level = [
            child
            for item in level
            if isinstance(item, list | dict)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
    return depth


def load_connects(text: Any) -> Any:
    """The JSON of a connects cell, parsed with caps; raises ValueError with the message."""
    if isinstance(text, list):
        return text
    if not isinstance(text, str):
        raise ValueError('Must be a JSON list such as [{"referenceId":"C-1","role":"UBO"}]')
    if len(text) > MAX_CONNECTS_CHARS:
        raise ValueError(f"Must be at most {MAX_CONNECTS_CHARS} characters (got {len(text)})")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"Malformed JSON: {exc.msg} (character {exc.pos + 1})") from None
    nesting = text.count("[") + text.count("{")
    if nesting > MAX_JSON_DEPTH and _depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _messages(exc: ValidationError) -> list[tuple[str, str]]:
    if hasattr(exc, "error_dict"):
        return [
            (key, message)
            for key, errors in exc.error_dict.items()
            for error in errors
            for message in error.messages
        ]
    return [("", message) for message in exc.messages]


def _column(key: str, columns: set[str]) -> str:
    """The sheet column an error key belongs to (`connects[0].role` → connects)."""
    if key in columns:
        return key
    head = key.split(".", 1)[0].split("[", 1)[0]
    return head if head in columns else key


def read_header(header: list[Any]) -> list[tuple[int, str]]:
    names = [str(cell).strip() if cell is not None else "" for cell in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise ImportFailed(
            f"The header row (row 1) lacks the column(s) {', '.join(missing)}; it must start "
            f"with {', '.join(REQUIRED_COLUMNS)} (download the template)"
        )
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise ImportFailed(f"The header row (row 1) has the column {name} twice")
        seen.add(name)
    return [(index, name) for index, name in enumerate(names) if name]


def _text_columns(definitions: dict[str, CustomerFieldDefinition]) -> set[str]:
    """Columns whose numbers are text to the customer (Excel types 12 as a number)."""
    return {"name", "externalId"} | {
        key for key, d in definitions.items() if d.field_type == FieldType.TEXT
    }


def _cell_text(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _reference_of(value: Any) -> str | None:
    """The row's referenceId under the API's rule (None when invalid: validation says why)."""
    return reference_or_none(value)


class Importer:
    """Plans one upload: `plan(rows)` reads the organisation's data and returns a Plan."""

    def __init__(
        self,
        *,
        organisation: Organisation,
        progress: Callable[[int], None] = lambda done: None,
    ) -> None:
        self.organisation = organisation
        self.progress = progress
        self.definitions = {
            d.key: d for d in CustomerFieldDefinition.objects.for_organisation(organisation)
        }
        self.flat: list[str] = []  # the sheet's identity and profile columns

    # -- reading the rows ------------------------------------------------------------

    def _rows(self, sheet: list[list[Any]]) -> tuple[list[Row], list[str]]:
        columns = read_header(sheet[0] if sheet else [])
        self.columns = [name for _, name in columns]
        self.flat = [c for c in flat_columns(set(self.definitions)) if c in self.columns]
        known = {*REQUIRED_COLUMNS, CONNECTS, "externalId", "identity", "profile", *self.flat}
        ignored = [
            name for _, name in columns if name not in known and name not in self.definitions
        ]
        text_columns = _text_columns(self.definitions)
        rows: list[Row] = []
        for offset, values in enumerate(sheet[1:]):
            row = Row(number=offset + 2)
            rows.append(row)
            data = row.data
            width = len(values)
            for index, name in columns:
                if index >= width:
                    break
                value = values[index]
                if value is None:
                    continue
                if isinstance(value, str):
                    if not value.strip():
                        continue
                elif name in text_columns:
                    value = _cell_text(value)
                data[name] = value
            if not data:
                row.outcome = RowOutcome.BLANK
            fold(data, self.flat)
        return rows, ignored

    def _parse_connects(self, row: Row) -> None:
        raw = row.data.pop(CONNECTS, None)
        if raw is None:
            return
        try:
            items = parse_connects(load_connects(raw))
        except ValueError as exc:
            row.errors.append((CONNECTS, str(exc)))
            return
        except ValidationError as exc:
            row.errors.extend(
                (CONNECTS, f"{key}: {message}" if key else message)
                for key, message in _messages(exc)
            )
            return
        inline = sorted({item.reference_id for item in items if item.customer is not None})
        if inline:
            row.errors.append(
                (
                    CONNECTS,
                    "Inline customer objects are not supported in a file; give "
                    f"{', '.join(inline)} a row of its own and refer to it by referenceId",
                )
            )
            return
        row.items = items

    # -- the organisation's data, in a few queries -------------------------------------

    def _read(self, refs: list[str], columns: list[str]) -> dict[str, dict[str, Any]]:
        """`columns` of the stored customers among `refs`, by referenceId (two of them
        read as SQL_READS says)."""
        found: dict[str, dict[str, Any]] = {}
        if not refs:
            return found
        if connection.vendor == "postgresql":
            select = ", ".join(SQL_READS.get(c, c) for c in columns)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT reference_id, {select} FROM customers_customer "  # noqa: S608
                    "WHERE organisation_id = %s AND reference_id = ANY(%s::text[])",
                    [self.organisation.pk, text_array(refs)],
                )
                rows: Iterable[Sequence[Any]] = cursor.fetchall()
        else:
            queryset = Customer.objects.for_organisation(self.organisation).annotate(
                **{f"read_{c}": ORM_READS[c] for c in columns if c in ORM_READS}
            )
            names = [f"read_{c}" if c in ORM_READS else c for c in columns]
            rows = [
                row
                for start in range(0, len(refs), LOOKUP_CHUNK)
                for row in queryset.filter(
                    reference_id__in=refs[start : start + LOOKUP_CHUNK]
                ).values_list("reference_id", *names)
            ]
        for ref, *values in rows:
            found[ref] = dict(zip(columns, values, strict=True), reference_id=ref)
        return found

    def _complete(self, existing: dict[str, dict[str, Any]], refs: list[str], full: bool) -> None:
        """Add what validation compares to the stored customers among `refs`: the
        template's columns, or every field when the sheet has identity/profile columns."""
        if full:
            queryset = Customer.objects.for_organisation(self.organisation)
            for start in range(0, len(refs), LOOKUP_CHUNK):
                chunk = queryset.filter(reference_id__in=refs[start : start + LOOKUP_CHUNK])
                for values in chunk.values(*CUSTOMER_FIELDS):
                    existing[values["reference_id"]].update(values)
            return
        for ref, values in self._read(refs, ROW_COLUMNS).items():
            existing[ref].update(values)

    def _connections_of(self, customer_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        by_customer: dict[int, list[dict[str, Any]]] = {}
        if not customer_ids:
            return by_customer
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {', '.join(CONNECTION_COLUMNS)} FROM relations_connection "  # noqa: S608
                    "WHERE customer_id = ANY(%s::bigint[])",
                    [int_array(customer_ids)],
                )
                rows: Iterable[Sequence[Any]] = cursor.fetchall()
        else:
            rows = [
                row
                for start in range(0, len(customer_ids), LOOKUP_CHUNK)
                for row in Connection.objects.filter(
                    customer_id__in=customer_ids[start : start + LOOKUP_CHUNK]
                ).values_list(*CONNECTION_COLUMNS)
            ]
        for row in rows:
            values = dict(zip(CONNECTION_COLUMNS, row, strict=True))
            by_customer.setdefault(values["customer_id"], []).append(values)
        return by_customer

    # -- the plan --------------------------------------------------------------------

    def plan(self, sheet: list[list[Any]]) -> Plan:
        rows, ignored = self._rows(sheet)
        plan = Plan(rows=rows, ignored_columns=ignored)
        live = [row for row in rows if row.outcome != RowOutcome.BLANK]
        first_row = _mark_references(live)
        existing = self._read(sorted(first_row), KEY_COLUMNS)
        plan.context = context_digest(
            definitions=self.definitions,
            reject_unknown=self.organisation.reject_unknown_fields,
            header=self.columns,
        )
        wanted = self._prove_or_parse(live, existing, plan.context)
        self._complete(
            existing,
            [r.reference for r in live if r.reference in existing and not r.proven],
            full=bool({"identity", "profile"} & set(self.columns) or self.flat),
        )
        existing.update(
            self._read(sorted(wanted - existing.keys() - first_row.keys()), KEY_COLUMNS)
        )
        self._validate(live, existing)
        self.progress(len(live) * 3 // 4)
        self._check_connections(live, existing)
        self._plan_connections(plan, live, existing)
        _sort_outcomes(plan, live)
        return plan

    def _prove_or_parse(
        self, live: list[Row], existing: dict[str, dict[str, Any]], context: bytes
    ) -> set[str]:
        """Rows whose import digest matches the stored one are unchanged without further
        work; the others get their connects parsed. Returns every referenceId those
        connects name."""
        wanted: set[str] = set()
        for row in live:
            if row.reference is not None and not row.duplicate:
                row.source = row_source(row.data)
                stored = existing.get(row.reference)
                if stored and stored["import_digest"] == row_digest(context, row.source):
                    row.proven = True
                    row.outcome = RowOutcome.UNCHANGED
                    continue
            self._parse_connects(row)
            if row.items:
                wanted.update(item.reference_id for item in row.items)
        return wanted

    def _validate(self, live: list[Row], existing: dict[str, dict[str, Any]]) -> None:
        """Each row through the API's `clean_customer`; sets the row's state after the
        import and whether it changes the stored customer."""
        columns = set(REQUIRED_COLUMNS) | {CONNECTS} | set(self.definitions)
        reject_unknown = self.organisation.reject_unknown_fields
        for done, row in enumerate(live, start=1):
            if done % PROGRESS_EVERY == 0:
                self.progress(done // 2)
            if row.duplicate or row.proven:
                continue
            current = _loaded(existing.get(row.reference)) if row.reference else None
            try:
                cleaned = clean_customer(
                    data=row.data,
                    definitions=self.definitions,
                    existing=SimpleNamespace(**current) if current else None,  # type: ignore[arg-type]
                    reject_unknown=reject_unknown,
                )
            except ValidationError as exc:
                row.errors.extend(
                    (column_of(key, self.flat) or _column(key, columns), msg)
                    for key, msg in _messages(exc)
                )
                continue
            if row.errors:
                continue
            row.existing = current
            state = dict(current) if current else {}
            changed = current is None
            for name, value in cleaned.fields.items():
                if current is None or current[name] != value:
                    state[name] = value
                    changed = True
            if current is None or current["custom_fields"] != cleaned.custom_fields:
                state["custom_fields"] = cleaned.custom_fields
                changed = True
            row.state, row.changed = state, changed
            row.account_type = state["account_type"]

    def _check_connections(self, live: list[Row], existing: dict[str, dict[str, Any]]) -> None:
        """connection_errors for every row with connects; a skipped new customer takes
        the rows that refer to it along (they would name a customer that does not exist)."""
        holders: dict[str, tuple[int, int]] = {
            ref: (values["id"], values["account_type"]) for ref, values in existing.items()
        }
        for row in live:
            if row.state is not None and not row.errors and row.existing is None:
                assert row.reference is not None and row.account_type is not None
                holders[row.reference] = (-row.number, row.account_type)
        referrers: dict[str, list[Row]] = {}
        pending: list[Row] = []
        for row in live:
            if row.items and row.state is not None and not row.errors:
                pending.append(row)
                for item in row.items:
                    referrers.setdefault(item.reference_id, []).append(row)
        while pending:
            row = pending.pop()
            if row.errors:
                continue
            assert row.reference is not None and row.items is not None
            messages = connection_errors(
                customer_ref=row.reference,
                customer_account_type=row.account_type or 0,
                items=row.items,
                holders=holders,
            )
            if not messages:
                continue
            row.errors.extend((CONNECTS, message) for message in messages)
            if row.existing is None and holders.pop(row.reference, None) is not None:
                pending.extend(r for r in referrers.get(row.reference, ()) if not r.errors)
        self.holders = holders

    def _plan_connections(
        self, plan: Plan, live: list[Row], existing: dict[str, dict[str, Any]]
    ) -> None:
        owners = [row for row in live if row.items is not None and not row.errors]
        stored = self._connections_of([row.existing["id"] for row in owners if row.existing])
        holders = self.holders
        organisation_id = self.organisation.pk
        for row in owners:
            assert row.items is not None and row.reference is not None
            customer_id = row.existing["id"] if row.existing else -row.number
            diff = diff_connections(
                stored=stored.get(customer_id, ()),
                key=_connection_key,
                percentage=lambda c: c["ownership_percentage"],
                wanted=((holders[item.reference_id][0], item) for item in row.items),
            )
            plan.connections.create.extend(
                {
                    "organisation_id": organisation_id,
                    "customer_id": customer_id,
                    "connected_customer_id": holder_id,
                    "role": item.role,
                    "ownership_percentage": item.ownership_percentage,
                    "valid_from": item.valid_from,
                    "valid_to": item.valid_to,
                }
                for holder_id, item in diff.create
            )
            plan.connections.update.extend(
                {**kept, "ownership_percentage": percentage} for kept, percentage in diff.update
            )
            plan.connections.remove.extend(diff.remove)
            if diff:
                plan.connection_owners[customer_id] = row
                if row.existing is not None:
                    plan.stored_connections[customer_id] = frozenset(
                        c["id"] for c in stored.get(customer_id, ())
                    )
                if row.existing is not None and not row.changed:
                    row.outcome = RowOutcome.UPDATED


def _mark_references(live: list[Row]) -> dict[str, int]:
    """Each row's referenceId; a second row with the same one is an error. Returns
    referenceId → the row number that has it first."""
    first_row: dict[str, int] = {}
    for row in live:
        row.reference = _reference_of(row.data.get("referenceId"))
        if row.reference is None:
            continue
        if row.reference in first_row:
            row.duplicate = True
            row.errors.append(
                (
                    "referenceId",
                    f'Duplicate referenceId "{row.reference}": already on row '
                    f"{first_row[row.reference]} (this row is skipped)",
                )
            )
        else:
            first_row[row.reference] = row.number
    return first_row


def _sort_outcomes(plan: Plan, live: list[Row]) -> None:
    """Each row's outcome, and the plan's lists of rows to create, update or stamp."""
    for row in live:
        if row.proven:
            continue
        if row.errors:
            row.outcome = RowOutcome.SKIPPED
        elif row.existing is None:
            row.outcome = RowOutcome.CREATED
            plan.create.append(row)
        elif row.changed:
            row.outcome = RowOutcome.UPDATED
            plan.update.append(row)
        elif row.outcome == RowOutcome.UPDATED:  # set by _plan_connections
            plan.touched.append(row)
        else:
            row.outcome = RowOutcome.UNCHANGED
            plan.verified.append(row)


def _loaded(current: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored customer with its custom fields parsed (read as JSON text: most rows of
    a re-upload are proven unchanged and never need them)."""
    if current is not None and isinstance(current["custom_fields"], str):
        text = current["custom_fields"]
        current["custom_fields"] = {} if text == "{}" else json.loads(text)
    return current


def _connection_key(c: dict[str, Any]) -> ConnectionKey:
    return (c["connected_customer_id"], c["role"], c["valid_from"], c["valid_to"])
