"""The rows of an uploaded sheet → plans of writes, batch by batch (README "Bulk upload").

Each row goes through the API's own validation: `customers.validation.clean_customer`,
`relations.validation.parse_connects` and `connection_errors`. What differs from the
API is only the shape of the work. The import runs in two phases of batches
(imports.services): the customer phase validates a batch of rows and plans their
customers (`Importer.plan`); the connection phase, once every customer of the file is
written, plans the `connects` of a batch of rows (`Importer.plan_links`), so that a
row may name a customer further down the file. Every referenceId of the file is known
before the first batch (`FileIndex`, sent first by the reader): duplicates and
connections to customers that are neither stored nor in the file are found in the
customer phase, and such rows are skipped and reported. A connection to a row of the
file that turns out to be skipped is found in the connection phase: that row's
customer is imported without the connections of its row (none of them, so nothing is
half-linked), and this is reported. The writes are done in bulk by `imports.writer`.
"""

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Case, F, TextField, Value, When
from django.db.models.functions import Cast

from customers.models import AccountType, Customer, CustomerFieldDefinition, FieldType
from customers.validation import clean_customer, reference_or_none
from customers.validation.customer import ACCOUNT_TYPES
from imports.columns import column_of, flat_columns, fold
from imports.fingerprint import context_digest, row_digest, row_source
from imports.models import RowOutcome
from imports.sql import int_array, text_array
from kycregistry.numbers import ascii_int
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
    connects: Any = None  # the connects cell as read (kept for the connection phase)
    errors: list[tuple[str, str]] = field(default_factory=list)
    outcome: str = RowOutcome.SKIPPED
    account_type: int | None = None
    existing: dict[str, Any] | None = None
    state: dict[str, Any] | None = None  # the customer's columns after the import
    changed: bool = False
    duplicate: bool = False
    source: str = ""  # the cells the row's import digest covers (imports.fingerprint)
    proven: bool = False  # unchanged by its digest: not validated again
    # What the customer phase stores as the row's import digest: "" for a row whose
    # connections are still to be written (the connection phase stores it then).
    digest: str = ""


@dataclass(slots=True)
class Owner:
    """A row whose `connects` the connection phase writes, once every customer of the
    file is (imports.services)."""

    number: int
    reference: str
    # The connects cell as read, parsed again in the connection phase: a third of the
    # memory of the parsed items, which a million-row file would hold for long.
    connects: Any
    digest: str  # stored once the connections are written (or found as they are)

    def items(self) -> list[ConnectItem]:
        """The row's connects (they passed `parse_connects` in the customer phase)."""
        return parse_connects(load_connects(self.connects))


@dataclass
class Plan:
    """The customer phase of one batch of rows."""

    rows: list[Row]
    create: list[Row] = field(default_factory=list)
    update: list[Row] = field(default_factory=list)
    verified: list[Row] = field(default_factory=list)  # validated and found unchanged
    owners: list[Owner] = field(default_factory=list)
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


@dataclass
class LinkPlan:
    """The connection phase of one batch of owners."""

    owners: list[Owner]
    create: list[dict[str, Any]] = field(default_factory=list)
    update: list[dict[str, Any]] = field(default_factory=list)
    remove: list[dict[str, Any]] = field(default_factory=list)
    # Owners whose connections change: customer id → (owner, updated_at as read,
    # ids of its stored connections as read); checked again under lock.
    changed: dict[int, tuple[Owner, Any, frozenset[int]]] = field(default_factory=dict)
    # Owners whose connections are as the file says: (customer id, digest, updated_at).
    verified: list[tuple[int, str, Any]] = field(default_factory=list)
    errors: list[tuple[Owner, str]] = field(default_factory=list)  # connections not written


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


def _declared_type(value: Any) -> int:
    """The account type a row declares, for the connection checks of rows that refer
    to it before it is validated; anything unreadable counts as a person, so that only
    the row's own validation reports it."""
    if isinstance(value, str):
        value = ascii_int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and value in ACCOUNT_TYPES:
        return value
    return AccountType.PERSON


class FileIndex:
    """Every referenceId of the file, known before the first batch (the reader sends
    it first): the row that has it first and the account type that row declares."""

    def __init__(self, index: tuple[list[Any], list[Any], bytes]) -> None:
        cells, types, blank = index
        self.first_row: dict[str, int] = {}
        # Each data row's referenceId (None: blank or invalid), normalised once.
        self.references: list[str | None] = [_reference_of(cell) for cell in cells]
        # The account type each data row declares, by position (one byte a row).
        self.types = bytearray(len(cells))
        for offset, reference in enumerate(self.references):
            if reference is None or reference in self.first_row:
                continue
            self.first_row[reference] = offset + 2
            self.types[offset] = _declared_type(types[offset])
        self.total = len(blank) - blank.count(1)

    def declared(self, reference: str) -> int:
        return self.types[self.first_row[reference] - 2]


class _Holders(Mapping[str, tuple[int, int]]):
    """What `connection_errors` resolves a referenceId to in the customer phase: the
    stored customer, else the file's row that has it (its customer may be written by a
    later batch; placeholder id: -row number)."""

    def __init__(self, stored: dict[str, tuple[int, int]], index: FileIndex) -> None:
        self.stored = stored
        self.index = index

    def __getitem__(self, reference: str) -> tuple[int, int]:
        found = self.stored.get(reference)
        if found is not None:
            return found
        return -self.index.first_row[reference], self.index.declared(reference)

    def __contains__(self, reference: object) -> bool:
        return reference in self.stored or reference in self.index.first_row

    def __iter__(self) -> Iterator[str]:
        return iter({*self.stored, *self.index.first_row})

    def __len__(self) -> int:
        return len({*self.stored, *self.index.first_row})


class Importer:
    """Plans one upload, batch by batch: `rows(values, offset)` turns a batch of cells
    into rows, `plan(rows)` is the customer phase of a batch, `plan_links(owners)` the
    connection phase of a batch of owners."""

    def __init__(
        self,
        *,
        organisation: Organisation,
        header: list[Any],
        index: FileIndex,
        progress: Callable[[int], None] = lambda done: None,
    ) -> None:
        self.organisation = organisation
        self.progress = progress
        self.index = index
        self.definitions = {
            d.key: d for d in CustomerFieldDefinition.objects.for_organisation(organisation)
        }
        columns = read_header(header)
        self.header_columns = columns
        self.columns = [name for _, name in columns]
        # The sheet's identity and profile columns (imports.columns).
        self.flat = [c for c in flat_columns(set(self.definitions)) if c in self.columns]
        known = {*REQUIRED_COLUMNS, CONNECTS, "externalId", "identity", "profile", *self.flat}
        self.ignored = [
            name for _, name in columns if name not in known and name not in self.definitions
        ]
        self.text_columns = _text_columns(self.definitions)
        self.context = context_digest(
            definitions=self.definitions,
            reject_unknown=organisation.reject_unknown_fields,
            header=self.columns,
        )

    # -- reading the rows ------------------------------------------------------------

    def rows(self, values_batch: list[list[Any]], offset: int) -> list[Row]:
        """The rows of a batch whose first row is data row `offset` (0 = Excel row 2)."""
        columns = self.header_columns
        text_columns = self.text_columns
        rows: list[Row] = []
        for position, values in enumerate(values_batch, start=offset):
            row = Row(number=position + 2)
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
        return rows

    def owner_of(self, row: Row) -> Owner | None:
        """The connection work of a row whose customer an earlier attempt committed
        (resuming after it: the row is not validated again)."""
        reference = self.index.references[row.number - 2]
        if reference is None or CONNECTS not in row.data:
            return None
        source = row_source(row.data)
        self._parse_connects(row)
        if row.items is None or row.errors:
            return None
        return Owner(row.number, reference, row.connects, row_digest(self.context, source))

    def _parse_connects(self, row: Row) -> None:
        raw = row.data.pop(CONNECTS, None)
        if raw is None:
            return
        row.connects = raw
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

    # -- the customer phase of a batch ------------------------------------------------

    def plan(self, rows: list[Row]) -> Plan:
        plan = Plan(rows=rows, ignored_columns=self.ignored, context=self.context)
        live = [row for row in rows if row.outcome != RowOutcome.BLANK]
        mine = _mark_references(live, self.index)
        existing = self._read(sorted(mine), KEY_COLUMNS)
        wanted = self._prove_or_parse(live, existing, plan.context)
        self._complete(
            existing,
            [r.reference for r in live if r.reference in existing and not r.proven],
            full=bool({"identity", "profile"} & set(self.columns) or self.flat),
        )
        targets = self._read(sorted(wanted - existing.keys() - mine), ["id", "account_type"])
        self._validate(live, existing)
        self._check_connections(live, existing, targets)
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
                self.progress(done)
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

    def _check_connections(
        self,
        live: list[Row],
        existing: dict[str, dict[str, Any]],
        targets: dict[str, dict[str, Any]],
    ) -> None:
        """connection_errors for every row with connects, against the stored customers
        and the file's rows: a connection to a row of the file counts as resolved here
        (the connection phase finds out whether that row's customer was written)."""
        stored = {
            ref: (values["id"], values["account_type"])
            for found in (existing, targets)
            for ref, values in found.items()
        }
        holders = _Holders(stored, self.index)
        for row in live:
            if not row.items or row.state is None or row.errors:
                continue
            assert row.reference is not None
            messages = connection_errors(
                customer_ref=row.reference,
                customer_account_type=row.account_type or 0,
                items=row.items,
                holders=holders,
            )
            row.errors.extend((CONNECTS, message) for message in messages)

    # -- the connection phase of a batch of owners -------------------------------------

    def plan_links(self, owners: list[Owner]) -> LinkPlan:
        plan = LinkPlan(owners=owners)
        items = {owner.number: owner.items() for owner in owners}
        refs = {owner.reference for owner in owners}
        refs.update(item.reference_id for wanted in items.values() for item in wanted)
        found = self._read(sorted(refs), ["id", "account_type", "updated_at", "import_digest"])
        holders = {ref: (values["id"], values["account_type"]) for ref, values in found.items()}
        ready: list[tuple[Owner, dict[str, Any]]] = []
        for owner in owners:
            customer = found.get(owner.reference)
            if customer is None:  # removed since the customer phase wrote it
                plan.errors.append((owner, CUSTOMER_GONE))
                continue
            wanted = items[owner.number]
            missing = _unique(i.reference_id for i in wanted if i.reference_id not in found)
            messages = []
            if missing:
                rows = ", ".join(
                    f"{ref} (row {self.index.first_row[ref]} was skipped)"
                    if ref in self.index.first_row
                    else ref
                    for ref in missing
                )
                messages.append(NOT_LINKED.format(rows=rows))
            messages += connection_errors(
                customer_ref=owner.reference,
                customer_account_type=customer["account_type"],
                items=wanted,
                holders={**holders, **dict.fromkeys(missing, (0, AccountType.PERSON))}
                if missing
                else holders,
            )
            if messages:
                plan.errors.extend((owner, message) for message in messages)
            else:
                ready.append((owner, customer))
        stored = self._connections_of([customer["id"] for _, customer in ready])
        organisation_id = self.organisation.pk
        for owner, customer in ready:
            customer_id = customer["id"]
            diff = diff_connections(
                stored=stored.get(customer_id, ()),
                key=_connection_key,
                percentage=lambda c: c["ownership_percentage"],
                wanted=((holders[item.reference_id][0], item) for item in items[owner.number]),
            )
            if not diff:
                plan.verified.append((customer_id, owner.digest, customer))
                continue
            plan.create.extend(
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
            plan.update.extend(
                {**kept, "ownership_percentage": percentage} for kept, percentage in diff.update
            )
            plan.remove.extend(diff.remove)
            plan.changed[customer_id] = (
                owner,
                customer["updated_at"],
                frozenset(c["id"] for c in stored.get(customer_id, ())),
            )
        return plan


CUSTOMER_GONE = "The customer was deleted before its connections were written"
NOT_LINKED = (
    "Connected customer(s) not imported: {rows}; this row's customer was imported without "
    "its connections"
)


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _mark_references(live: list[Row], index: FileIndex) -> set[str]:
    """Each row's referenceId; a second row of the file with the same one is an error.
    Returns the referenceIds of the rows that have them first."""
    first_row = index.first_row
    references = index.references
    mine: set[str] = set()
    for row in live:
        row.reference = references[row.number - 2]
        if row.reference is None:
            continue
        first = first_row.get(row.reference, row.number)
        if first != row.number:
            row.duplicate = True
            row.errors.append(
                (
                    "referenceId",
                    f'Duplicate referenceId "{row.reference}": already on row '
                    f"{first} (this row is skipped)",
                )
            )
        else:
            mine.add(row.reference)
    return mine


def _sort_outcomes(plan: Plan, live: list[Row]) -> None:
    """Each row's outcome, its import digest, the plan's lists of rows to create,
    update or stamp, and of the rows whose connections the connection phase writes."""
    context = plan.context
    for row in live:
        if row.proven:
            continue
        if row.errors:
            row.outcome = RowOutcome.SKIPPED
            continue
        assert row.reference is not None
        if row.items is not None:
            plan.owners.append(
                Owner(row.number, row.reference, row.connects, row_digest(context, row.source))
            )
        else:
            row.digest = row_digest(context, row.source)
        if row.existing is None:
            row.outcome = RowOutcome.CREATED
            plan.create.append(row)
        elif row.changed:
            row.outcome = RowOutcome.UPDATED
            plan.update.append(row)
        else:
            row.outcome = RowOutcome.UNCHANGED
            if row.items is None:
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
