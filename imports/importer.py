"""The rows of an uploaded sheet → plans of writes, batch by batch (README "Bulk upload").

Each row goes through the API's own validation: `customers.validation.clean_customer`,
`relations.validation.parse_connects` and `connection_errors`. What differs from the
API is only the shape of the work. The import runs in batches (imports.services);
`Importer.plan` validates a batch of rows and plans their customers, and the `connects`
of every row whose connections can now be written: a row's connections wait for the
batch of the last row of the file they name (their `due` row; most name rows of their
own batch or before it), so that a row may name a customer further down the file and
nothing is half-linked. Every referenceId of the file is known before the first batch
(`FileIndex`, sent first by the reader): duplicates and connections to customers that
are neither stored nor in the file are found with the row, and such rows are skipped
and reported. A connection to a row of the file that turns out to be skipped is found
when the connections are planned: that row's customer is imported without the
connections of its row (none of them, so nothing is half-linked), and this is
reported. The writes are done in bulk by `imports.writer`.
"""

import json
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
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
from imports.read_ahead import ReadAhead
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
    errors: list[tuple[str, str]] = field(default_factory=list)
    outcome: str = RowOutcome.SKIPPED
    account_type: int | None = None
    existing: dict[str, Any] | None = None
    state: dict[str, Any] | None = None  # the customer's columns after the import
    changed: bool = False
    duplicate: bool = False
    source: bytes = b""  # the cells the row's import digest covers (imports.fingerprint)
    proven: bool = False  # unchanged by its digest: not validated again
    # What the customer write stores as the row's import digest: "" for a row whose
    # connections are written later (their write stores it then).
    digest: str = ""
    customer_id: int = 0  # the stored customer's, or the new one's once written
    owner: "Owner | None" = None  # a row with connects: what writes them


@dataclass(slots=True, eq=False)
class Owner:
    """A row whose `connects` the import writes, in the batch of its `due` row: the
    last row of the file they wait for (its own, or a later row that one of them names).
    Kept from its own batch to that one (imports.services)."""

    number: int
    reference: str
    items: list[ConnectItem]
    # Per item: the stored customer it names (its id), or -(number of the file row that
    # has it): that row's customer, resolved once written (`FileIndex.customer_ids`).
    targets: list[int]
    # Per item: the account type it was checked with (-1: not checked by this attempt).
    checked: list[int]
    digest: str  # stored once the connections are written (or found as they are)
    due: int
    new: bool  # created by this attempt: it has no stored connections to diff against
    customer_id: int = 0
    stamp: datetime | None = None  # its updated_at as the import left it, checked then
    # Its stamp and stored connections are read again when due: after a resume, or a
    # change under the import.
    reread: bool = False
    fresh: bool = False  # its customer's write in the same batch stores its digest

    def holder_ids(self, customer_ids: Sequence[int]) -> list[int]:
        """Per item, the id of the customer it names (`customer_ids`: the file rows')."""
        return [target if target > 0 else customer_ids[-target - 2] for target in self.targets]


@dataclass
class LinkPlan:
    """The connections one batch writes: of the owners due in it (`rows`)."""

    rows: range = range(0)
    owners: list[Owner] = field(default_factory=list)  # checked: written (or as they are)
    errors: list[tuple[Owner, str]] = field(default_factory=list)  # connections not written
    stored: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # of owners not new
    # What `resolve` makes of it once every customer named has its id:
    create: list[dict[str, Any]] = field(default_factory=list)
    update: list[dict[str, Any]] = field(default_factory=list)
    remove: list[dict[str, Any]] = field(default_factory=list)
    changed: dict[int, Owner] = field(default_factory=dict)  # customer id → owner
    verified: list[Owner] = field(default_factory=list)  # connections as the file says

    def resolve(self, customer_ids: Sequence[int], organisation_id: Any) -> None:
        """The writes, with the ids of the customers the file rows have now (called by
        the writer, after the batch's customers are written)."""
        for owner in self.owners:
            customer_id = owner.customer_id
            diff = diff_connections(
                stored=self.stored.get(customer_id, ()),
                key=_connection_key,
                percentage=lambda c: c["ownership_percentage"],
                wanted=zip(owner.holder_ids(customer_ids), owner.items, strict=True),
            )
            if not diff:
                self.verified.append(owner)
                continue
            self.create.extend(
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
            self.update.extend(
                {**kept, "ownership_percentage": percentage} for kept, percentage in diff.update
            )
            self.remove.extend(diff.remove)
            self.changed[customer_id] = owner


@dataclass
class Plan:
    """One batch of rows: its customers, and the connections due in it."""

    rows: list[Row]
    create: list[Row] = field(default_factory=list)
    update: list[Row] = field(default_factory=list)
    verified: list[Row] = field(default_factory=list)  # validated and found unchanged
    owners: list[Owner] = field(default_factory=list)  # the batch's rows with connects
    links: LinkPlan = field(default_factory=LinkPlan)
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


# json.loads with parse_constant makes a decoder per call: a third of a cell's parse.
_connects_decoder = json.JSONDecoder(parse_constant=_reject_constant)


def _json_loads(text: str) -> Any:
    """json.loads(text, parse_constant=_reject_constant), with one decoder."""
    if text.startswith("\ufeff"):  # as json.loads refuses it
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _connects_decoder.decode(text)


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
        value = _json_loads(text)
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
        # The customer each data row has once its batch is planned and written: its id
        # (0 until then) and account type (0: none, the row was skipped and nothing is
        # stored under its referenceId). Connections name file rows through these.
        self.customer_ids = array("q", bytes(8 * len(cells)))
        self.customer_types = bytearray(len(cells))

    def declared(self, reference: str) -> int:
        return self.types[self.first_row[reference] - 2]

    def first_references(self, start: int, stop: int) -> list[str]:
        """The referenceIds data rows `start` to `stop` - 1 have first, sorted: those
        whose stored customers a batch of these rows reads (`Importer.plan`)."""
        references, first_row = self.references, self.first_row
        return sorted(
            {
                reference
                for at in range(start, min(stop, len(references)))
                if (reference := references[at]) is not None and first_row[reference] == at + 2
            }
        )


class _Holders(Mapping[str, tuple[int, int]]):
    """What `connection_errors` resolves a referenceId to when its row is validated: the
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
    into rows, `plan(rows)` plans their customers and the connections due in them.
    Between batches it keeps the owners whose connections wait for a later row."""

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
        # Owners waiting for a later row: due row → owner row number → owner.
        self.waiting: dict[int, dict[int, Owner]] = {}
        # Customers deleted under the import (found when a connection to one failed).
        self.gone: set[int] = set()
        # What may have read a batch's stored customers before its plan asks.
        self.ahead: ReadAhead | None = None

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

    def resume(self, rows: list[Row], outcomes: str, linked_through: int) -> None:
        """Rows an earlier attempt committed (`outcomes`, one letter a row), not
        validated again: the customers they have, for the connections that name them,
        and the owners among them whose connections are due after row `linked_through`."""
        live = [row for row in rows if row.outcome != RowOutcome.BLANK]
        mine = _mark_references(live, self.index)
        stored = self._read(sorted(mine), ["id", "account_type", "updated_at", "import_digest_at"])
        waiting: list[Row] = []
        for row, outcome in zip(rows, outcomes, strict=True):
            if row.reference is None or row.duplicate:
                continue
            found = stored.get(row.reference)
            at = row.number - 2
            if found is not None:
                self.index.customer_ids[at] = row.customer_id = found["id"]
                self.index.customer_types[at] = found["account_type"]
            if found is not None and outcome in WRITTEN and CONNECTS in row.data:
                row.source = row_source(row.data)
                self._parse_connects(row)
                if row.items is not None and not row.errors:
                    # A customer the import created and nothing changed since (its
                    # updated_at is still the one the import stored its digest time
                    # with) has no connections yet: not read again.
                    untouched = found["updated_at"] == found["import_digest_at"]
                    row.existing = None if outcome == RowOutcome.CREATED and untouched else found
                    waiting.append(row)
        wanted = {item.reference_id for row in waiting for item in row.items or ()}
        targets = self._read(sorted(wanted - self.index.first_row.keys()), ["id", "account_type"])
        holders = _Holders(
            {ref: (values["id"], values["account_type"]) for ref, values in targets.items()},
            self.index,
        )
        for row in waiting:
            owner = _owner(row, holders, self.index, self.context)
            if owner.due > linked_through:
                # Checked again when due: the types its file rows had are not known.
                owner.checked = [
                    -1 if target < 0 else checked
                    for target, checked in zip(owner.targets, owner.checked, strict=True)
                ]
                if owner.new:
                    assert row.existing is None
                    owner.stamp = stored[owner.reference]["updated_at"]
                else:
                    owner.reread = True
                self.waiting.setdefault(owner.due, {})[owner.number] = owner

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

    def _stamps(self, customer_ids: list[int]) -> dict[int, datetime]:
        """updated_at of the customers `customer_ids` (those that still exist)."""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT id, updated_at FROM customers_customer "
                    "WHERE organisation_id = %s AND id = ANY(%s::bigint[])",
                    [self.organisation.pk, int_array(customer_ids)],
                )
                return dict(cursor.fetchall())
        queryset = Customer.objects.for_organisation(self.organisation)
        return {
            pk: updated_at
            for start in range(0, len(customer_ids), LOOKUP_CHUNK)
            for pk, updated_at in queryset.filter(
                pk__in=customer_ids[start : start + LOOKUP_CHUNK]
            ).values_list("id", "updated_at")
        }

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

    # -- a batch: its customers, and the connections due in it ------------------------

    def stored(self, refs: list[str]) -> dict[str, dict[str, Any]]:
        """What a plan reads first of the stored customers among `refs`."""
        return self._read(refs, KEY_COLUMNS)

    def read_ahead(self, start: int, stop: int) -> None:
        """Have `ahead`, if any, read what the plan of data rows `start` to `stop` - 1
        will read first."""
        if self.ahead is not None:
            self.ahead.request(start, self.index.first_references(start, stop))

    def plan(self, rows: list[Row]) -> Plan:
        plan = Plan(rows=rows, ignored_columns=self.ignored, context=self.context)
        live = [row for row in rows if row.outcome != RowOutcome.BLANK]
        mine = _mark_references(live, self.index)
        refs = sorted(mine)
        existing = self.ahead.take(rows[0].number - 2, refs) if self.ahead else None
        if existing is None:
            existing = self.stored(refs)
        wanted = self._prove_or_parse(live, existing, plan.context)
        self._complete(
            existing,
            [r.reference for r in live if r.reference in existing and not r.proven],
            full=bool({"identity", "profile"} & set(self.columns) or self.flat),
        )
        targets = self._read(sorted(wanted - existing.keys() - mine), ["id", "account_type"])
        self._validate(live, existing)
        holders = self._check_connections(live, existing, targets)
        self._record(live, existing)
        _sort_outcomes(plan, live, holders, self.index)
        first, last = rows[0].number, rows[-1].number
        for owner in plan.owners:
            if owner.due > last:
                self.waiting.setdefault(owner.due, {})[owner.number] = owner
        due = [owner for owner in plan.owners if owner.due <= last]
        for number in range(first, last + 1):
            due.extend(list(self.waiting.get(number, {}).values()))
        due.sort(key=lambda owner: owner.number)
        plan.links = self.plan_links(due, range(first, last + 1))
        for owner in plan.links.owners:
            row = rows[owner.number - first] if owner.number >= first else None
            if row is not None and row.outcome in (RowOutcome.CREATED, RowOutcome.UPDATED):
                # Its connections are written with it: its digest goes with its write.
                owner.fresh = True
                row.digest = owner.digest
        return plan

    def prepared(self, plan: Plan, now: datetime) -> None:
        """The batch's new customers have their ids (drawn before it is written, which
        stamps them `now`): what the connections that name its rows resolve to, and the
        updated_at its owners will have."""
        for row in plan.create:
            self.index.customer_ids[row.number - 2] = row.customer_id
        for owner in plan.owners:
            row = plan.rows[owner.number - plan.rows[0].number]
            owner.customer_id = row.customer_id
            if row.outcome == RowOutcome.UNCHANGED:
                assert row.existing is not None
                owner.stamp = row.existing["updated_at"]
            else:
                owner.stamp = now

    def forget(self, plan: Plan) -> None:
        """A plan that is made again: its owners wait no more (the new plan's will)."""
        for owner in plan.owners:
            self.waiting.get(owner.due, {}).pop(owner.number, None)

    def refresh(self, links: LinkPlan) -> None:
        """Owners of earlier rows that changed under the import (or may have): read them
        again when their connections are planned again."""
        for owner in links.owners:
            if owner.number < links.rows.start:
                owner.new, owner.reread = False, True

    def holders_gone(self, plan: Plan) -> list[str]:
        """After the write of `plan` failed (rolled back): the referenceIds its
        connections name whose customers, stored before the batch, no longer exist
        (deleted under the import), remembered in `gone` so that the batch planned again
        reports them. Empty: the failure had another cause."""
        created = {row.customer_id for row in plan.create}
        named = {
            holder_id: item.reference_id
            for owner in plan.links.owners
            for holder_id, item in zip(
                owner.holder_ids(self.index.customer_ids), owner.items, strict=True
            )
            if holder_id not in created
        }
        gone = named.keys() - self._stamps(list(named))
        self.gone |= gone
        return sorted({named[pk] for pk in gone})

    def linked(self, links: LinkPlan) -> None:
        """The batch of `links` is committed: its owners wait no more."""
        for number in links.rows:
            self.waiting.pop(number, None)

    def _record(self, live: list[Row], existing: dict[str, dict[str, Any]]) -> None:
        """The customer each row's referenceId will have once the batch is written (a
        new one's id is filled in then), for the connections that name the row."""
        ids, types = self.index.customer_ids, self.index.customer_types
        for row in live:
            if row.reference is None or row.duplicate:
                continue
            stored = existing.get(row.reference)
            at = row.number - 2
            if row.proven or row.errors:  # the stored customer, if any, stays as it is
                ids[at], types[at] = (stored["id"], stored["account_type"]) if stored else (0, 0)
            else:
                ids[at], types[at] = (stored["id"] if stored else 0), row.account_type or 0
            row.customer_id = ids[at]

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
    ) -> "_Holders":
        """connection_errors for every row with connects, against the stored customers
        and the file's rows: a connection to a row of the file counts as resolved here
        (`plan_links` finds out whether that row's customer was written). Returns what
        the referenceIds resolved to."""
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
        return holders

    # -- the connections due in a batch -------------------------------------

    def plan_links(self, owners: list[Owner], rows: range) -> LinkPlan:
        """The connections of `owners`, due in the batch of `rows`, checked again where
        a customer they name is not what their row was checked with (its row was
        skipped, or the check was made by an earlier attempt)."""
        plan = LinkPlan(rows=rows)
        types = self.index.customer_types
        for owner in owners:
            final = [
                types[-target - 2] if target < 0 else checked
                for target, checked in zip(owner.targets, owner.checked, strict=True)
            ]
            if final == owner.checked and all(final):
                plan.owners.append(owner)  # connection_errors said nothing of these
                continue
            missing = _unique(
                item.reference_id
                for item, account_type in zip(owner.items, final, strict=True)
                if not account_type
            )
            messages = []
            if missing:
                rows_of = ", ".join(
                    f"{ref} (row {self.index.first_row[ref]} was skipped)"
                    if ref in self.index.first_row
                    else ref
                    for ref in missing
                )
                messages.append(NOT_LINKED.format(rows=rows_of))
            messages += connection_errors(
                customer_ref=owner.reference,
                customer_account_type=0,
                items=owner.items,
                holders={
                    item.reference_id: (0, account_type or AccountType.PERSON)
                    for item, account_type in zip(owner.items, final, strict=True)
                },
            )
            if messages:
                plan.errors.extend((owner, message) for message in messages)
            else:
                plan.owners.append(owner)
        if self.gone:
            plan.owners = [owner for owner in plan.owners if not self._names_gone(owner, plan)]
        reread = [owner for owner in plan.owners if owner.reread]
        if reread:
            stamps = self._stamps([owner.customer_id for owner in reread])
            for owner in reread:
                owner.stamp = stamps.get(owner.customer_id)
                if owner.stamp is None:  # removed since its row was written
                    plan.errors.append((owner, CUSTOMER_GONE))
            plan.owners = [owner for owner in plan.owners if owner.stamp is not None]
        plan.stored = self._connections_of([o.customer_id for o in plan.owners if not o.new])
        return plan

    def _names_gone(self, owner: Owner, plan: LinkPlan) -> bool:
        """Whether `owner` names a customer deleted under the import (then its row's
        error is in `plan`)."""
        holder_ids = owner.holder_ids(self.index.customer_ids)
        gone = [
            item.reference_id
            for holder_id, item in zip(holder_ids, owner.items, strict=True)
            if holder_id in self.gone
        ]
        if gone:
            plan.errors.append((owner, HOLDERS_GONE.format(refs=", ".join(_unique(gone)))))
        return bool(gone)


# Outcomes of rows whose customer is written (or found as the file says).
WRITTEN = frozenset({RowOutcome.CREATED, RowOutcome.UPDATED, RowOutcome.UNCHANGED})
CUSTOMER_GONE = "The customer was deleted before its connections were written"
HOLDERS_GONE = (
    "Connected customer(s) deleted before the connections were written: {refs}; this row's "
    "customer was imported without its connections"
)
NOT_LINKED = (
    "Connected customer(s) not imported: {rows}; this row's customer was imported without "
    "its connections"
)


def due_row(number: int, connects: Any, index: FileIndex) -> int:
    """The row whose batch writes the connections of row `number` (its connects cell,
    which passed its checks when the row was imported): the last row of the file they
    name, or its own."""
    items = parse_connects(load_connects(connects))
    first_row = index.first_row
    return max([number, *(first_row[i.reference_id] for i in items if i.reference_id in first_row)])


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


def _sort_outcomes(
    plan: Plan, live: list[Row], holders: Mapping[str, tuple[int, int]], index: FileIndex
) -> None:
    """Each row's outcome, its import digest, the plan's lists of rows to create,
    update or stamp, and its owners (rows whose connections the import writes)."""
    context = plan.context
    for row in live:
        if row.proven:
            continue
        if row.errors:
            row.outcome = RowOutcome.SKIPPED
            continue
        assert row.reference is not None
        if row.items is not None:
            plan.owners.append(_owner(row, holders, index, context))
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


def _owner(
    row: Row, holders: Mapping[str, tuple[int, int]], index: FileIndex, context: bytes
) -> Owner:
    """The connection work of a row whose connects passed their checks, against what
    they resolved to (`holders`): due with the last row of the file they name."""
    assert row.reference is not None and row.items is not None
    targets: list[int] = []
    checked: list[int] = []
    due = row.number
    for item in row.items:
        holder_id, account_type = holders.get(item.reference_id, (0, 0))
        first = index.first_row.get(item.reference_id)
        if first is None:
            targets.append(holder_id)
        else:
            targets.append(-first)
            due = max(due, first)
        checked.append(account_type)
    owner = Owner(
        number=row.number,
        reference=row.reference,
        items=row.items,
        targets=targets,
        checked=checked,
        digest=row_digest(context, row.source),
        due=due,
        new=row.existing is None,
        customer_id=row.customer_id,
    )
    row.owner = owner
    return owner


def _loaded(current: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored customer with its custom fields parsed (read as JSON text: most rows of
    a re-upload are proven unchanged and never need them)."""
    if current is not None and isinstance(current["custom_fields"], str):
        text = current["custom_fields"]
        current["custom_fields"] = {} if text == "{}" else json.loads(text)
    return current


def _connection_key(c: dict[str, Any]) -> ConnectionKey:
    return (c["connected_customer_id"], c["role"], c["valid_from"], c["valid_to"])
