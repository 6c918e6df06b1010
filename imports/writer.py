"""Bulk writes of an import Plan, with a history row for every written row.

PostgreSQL: ids are drawn from the sequence in one query, rows go in with COPY (text
format, built here: columns that are the same for every row are formatted once),
updates COPY into a temporary table and `UPDATE … FROM` it, and history rows are
copied from the written rows with `INSERT … SELECT` (COPY is the floor; `save()`
per row is 17× slower: docs/performance.md). Other databases (SQLite): the ORM's
bulk_create/bulk_update. Only the writing is the import's own: client numbers,
search_text, history stamps and the announcements of what changed
(`kycregistry.events`) come from the helpers the services use.

The caller runs each batch's `PlanWriter.write` (customers), then its
`LinkWriter.write` (the connections due in it), inside the batch's transaction.
"""

import itertools
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models

from customers.models import (
    SEARCH_INPUTS,
    Customer,
    draw_client_numbers,
    new_client_numbers,
    search_text,
)
from imports.importer import LinkPlan, Owner, Plan, Row
from imports.sql import copy_lines, int_array, text_array
from kycregistry import events
from kycregistry.uuid7 import uuid7_texts
from organisations.audit import current_actor, history_stamp
from relations.models import Connection

CHUNK = 5000
_temp_names = itertools.count(1)
_sequences: dict[str, str] = {}  # table → its id sequence (PostgreSQL)
_encoder = DjangoJSONEncoder(ensure_ascii=False, separators=(",", ":"))
_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_ESCAPE)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return _json(value).translate(_ESCAPE)
    return str(value).translate(_ESCAPE)


# Dates, datetimes and dataclasses go to Django's encoder, which formats them its own way.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _json(value: Any) -> str:
    """JSON text of a value: orjson (6x as fast as the json module on a customer's
    identity), Django's encoder for what orjson refuses (a type it does not know, a
    non-text key, an integer beyond 64 bits). PostgreSQL reads the same values from
    both (a float may be spelt differently: 1e16 and 1e+16)."""
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS).decode()
    except TypeError:
        return _encoder.encode(value)


def _json_text(value: Any) -> str:
    return "\\N" if value is None else _json(value).translate(_ESCAPE)


_needs_escape = re.compile(r"[\\\t\n\r]").search


def _str_text(value: Any) -> str:
    if value is None:
        return "\\N"
    return value.translate(_ESCAPE) if _needs_escape(value) else value


def _number_text(value: Any) -> str:
    return "\\N" if value is None else str(value)


def _formatter(field: models.Field[Any, Any]) -> Callable[[Any], str]:
    """The cheapest correct formatter for a column (it runs once per cell)."""
    if isinstance(field, models.JSONField):
        return _json_text
    if isinstance(field, models.CharField | models.TextField) and not field.primary_key:
        return _str_text
    if isinstance(field, models.IntegerField | models.DecimalField | models.ForeignKey):
        return _number_text
    return _copy_text


def _lines(columns: list[str], cells: dict[str, str | list[str]], count: int) -> Iterable[str]:
    """COPY lines of `count` rows from each column's text (`PostgresBackend._cells`)."""
    parts: list[str] = []
    varying: list[list[str]] = []
    for column in columns:
        text = cells[column]
        if isinstance(text, str):
            parts.append(text.replace("{", "{{").replace("}", "}}"))
        else:
            parts.append("{}")
            varying.append(text)
    fill = ("\t".join(parts) + "\n").format
    return map(fill, *varying) if varying else [fill()] * count


def _all_same(values: list[Any]) -> bool:
    """Whether the values all have the same COPY text: equal and of one type (1, 1.0 and
    True are equal), and containers only when empty ({"a": 1} equals {"a": True})."""
    first = values[0]
    if len(set(map(type, values))) != 1:
        return False
    if isinstance(first, dict | list):
        return not any(values)
    return values.count(first) == len(values)


def _fields(model: type[models.Model]) -> dict[str, models.Field[Any, Any]]:
    return {f.attname: f for f in model._meta.concrete_fields}


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


@dataclass
class Staged:
    """New rows of `model` made ready before the transaction that inserts them: their
    ids drawn, and on PostgreSQL their COPY text made."""

    model: type[models.Model]
    rows: list[dict[str, Any]]
    constants: dict[str, Any]
    # PostgreSQL: each column's COPY text (`PostgresBackend._cells`), and the lines.
    cells: dict[str, str | list[str]] | None = None
    lines: list[str] | None = None

    @property
    def ids(self) -> list[int]:
        return [row["id"] for row in self.rows]


class Backend:
    """Generic (SQLite): the ORM's bulk operations."""

    def client_numbers(
        self, organisation_id: Any, count: int, exclude: Collection[str] = ()
    ) -> list[str]:
        """`count` client numbers free in the organisation and not in `exclude` (those
        of batches not yet committed)."""
        numbers: set[str] = set()
        while len(numbers) < count:
            drawn = draw_client_numbers(
                organisation_id=organisation_id, count=count - len(numbers), candidates_only=True
            )
            numbers.update(number for number in drawn if number not in exclude)
        return list(numbers)

    def allocate(self, model: type[models.Model], count: int) -> list[int]:
        """`count` ids for new rows of `model`, reserved in SQLite's sequence table (in
        the caller's transaction: SQLite has one writer at a time)."""
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            found = cursor.fetchone()
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {_q(table)}")  # noqa: S608
            last = max(found[0] if found else 0, cursor.fetchone()[0])
            if found:
                cursor.execute(
                    "UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [last + count, table]
                )
            else:
                cursor.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, last + count]
                )
        return list(range(last + 1, last + count + 1))

    def stage(
        self, model: type[models.Model], rows: list[dict[str, Any]], constants: dict[str, Any]
    ) -> Staged:
        """Rows to insert with `insert`, their ids drawn (in `row["id"]`)."""
        for row, pk in zip(rows, self.allocate(model, len(rows)) if rows else [], strict=True):
            row["id"] = pk
        return Staged(model, rows, constants)

    def locked_stamps(self, ids: list[int]) -> dict[int, Any]:
        """Lock the customers `ids`; their updated_at."""
        return dict(
            Customer.objects.filter(pk__in=ids).select_for_update().values_list("id", "updated_at")
        )

    def stamp(self, rows: list[tuple[int, str, datetime]], now: datetime) -> list[int]:
        """For each (customer id, import digest, updated_at as read): lock the customer
        and, if it still has that updated_at, store the digest and move updated_at (and
        the digest's) to `now`. Returns the ids of those that changed (or are gone):
        then nothing should be kept (the caller rolls back)."""
        if not rows:
            return []
        seen = self.locked_stamps([pk for pk, _, _ in rows])
        changed = [pk for pk, _, read_at in rows if seen.get(pk) != read_at]
        if not changed:
            self.update(
                Customer,
                [{"id": pk, "import_digest": digest} for pk, digest, _ in rows],
                ["import_digest"],
                {"updated_at": now, "import_digest_at": now},
            )
        return changed

    def connection_ids(self, customer_ids: list[int]) -> list[tuple[int, int]]:
        """(id, customer id) of the connections of `customer_ids`."""
        return list(
            Connection.objects.filter(customer_id__in=customer_ids).values_list("id", "customer_id")
        )

    def insert(self, staged: Staged) -> list[int]:
        model, constants = staged.model, staged.constants
        objs = [model(**constants, **row) for row in staged.rows]
        model._default_manager.bulk_create(objs, batch_size=1000)
        ids = staged.ids
        # bulk_create stamps auto_now fields with its own clock; keep the writer's (an
        # import digest holds while import_digest_at equals updated_at).
        stamps = {
            f.attname: constants[f.attname]
            for f in model._meta.concrete_fields
            if f.attname in constants
            and (getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False))
        }
        for start in range(0, len(ids), 500):
            model._default_manager.filter(pk__in=ids[start : start + 500]).update(**stamps)
        return ids

    def update(
        self,
        model: type[models.Model],
        rows: list[dict[str, Any]],
        columns: list[str],
        constants: dict[str, Any],
    ) -> None:
        objs = [model(**{**row, **constants}) for row in rows]
        model._default_manager.bulk_update(objs, [*columns, *constants], batch_size=500)

    def delete(self, model: type[models.Model], ids: list[int]) -> None:
        # Raw: QuerySet.delete() would add simple-history's own "-" rows to ours.
        table = _q(model._meta.db_table)
        with connection.cursor() as cursor:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(f"DELETE FROM {table} WHERE id IN ({marks})", chunk)  # noqa: S608

    def new_history(self, staged: Staged, extra: dict[str, Any]) -> None:
        """History rows of rows just inserted from `staged`."""
        self.history(staged.model, staged.ids, extra)

    def history(self, model: type[models.Model], ids: list[int], extra: dict[str, Any]) -> None:
        """History rows holding the current state of `ids`."""
        historical = _historical(model)
        tracked = [f.attname for f in historical.tracked_fields]
        rows: list[Any] = []
        for start in range(0, len(ids), 500):
            rows.extend(
                historical(**values, **extra)
                for values in model._default_manager.filter(pk__in=ids[start : start + 500]).values(
                    *tracked
                )
            )
        historical.objects.bulk_create(rows, batch_size=1000)


class PostgresBackend(Backend):
    # The same queries with one array parameter: thousands of bound values (IN) cost
    # ~100 ms a batch of 5,000 (measured).

    def client_numbers(
        self, organisation_id: Any, count: int, exclude: Collection[str] = ()
    ) -> list[str]:
        """`draw_client_numbers`, asking about the candidates in one array."""
        numbers: list[str] = []
        chosen: set[str] = set()
        while len(numbers) < count:
            # A few more than missing: a draw may repeat itself, or a number be taken.
            missing = count - len(numbers)
            candidates = new_client_numbers(missing + missing // 32 + 8) - chosen
            candidates.difference_update(exclude)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT client_number FROM customers_customer WHERE organisation_id = %s "
                    "AND client_number = ANY(%s::text[])",
                    [organisation_id, text_array(candidates)],
                )
                taken = {number for (number,) in cursor.fetchall()}
            fresh = list(candidates - taken)[:missing]
            chosen.update(fresh)
            numbers.extend(fresh)
        return numbers

    def locked_stamps(self, ids: list[int]) -> dict[int, Any]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, updated_at FROM customers_customer WHERE id = ANY(%s::bigint[]) "
                "FOR UPDATE",
                [int_array(ids)],
            )
            return dict(cursor.fetchall())

    def stamp(self, rows: list[tuple[int, str, datetime]], now: datetime) -> list[int]:
        # One statement locks, checks and stamps (a row whose updated_at moved is left
        # out by the WHERE); the ids it did not return changed.
        if not rows:
            return []
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE customers_customer AS t SET import_digest = s.digest, "
                "updated_at = %s, import_digest_at = %s "
                "FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[]) "
                "AS s(id, digest, read_at) "
                "WHERE t.id = s.id AND t.updated_at = s.read_at RETURNING t.id",
                [
                    now,
                    now,
                    int_array(pk for pk, _, _ in rows),
                    text_array(digest for _, digest, _ in rows),
                    text_array(read_at.isoformat() for _, _, read_at in rows),
                ],
            )
            stamped = {pk for (pk,) in cursor.fetchall()}
        return [pk for pk, _, _ in rows if pk not in stamped]

    def connection_ids(self, customer_ids: list[int]) -> list[tuple[int, int]]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, customer_id FROM relations_connection "
                "WHERE customer_id = ANY(%s::bigint[])",
                [int_array(customer_ids)],
            )
            return list(cursor.fetchall())

    def _copy(self, table: str, columns: list[str], lines: Iterable[str]) -> None:
        copy_lines(table, [_q(c) for c in columns], lines)

    def _lines(
        self,
        model: type[models.Model],
        columns: list[str],
        rows: list[dict[str, Any]],
        constants: dict[str, Any],
    ) -> Iterable[str]:
        return _lines(columns, self._cells(model, columns, rows, constants), len(rows))

    def _cells(
        self,
        model: type[models.Model],
        columns: list[str],
        rows: list[dict[str, Any]],
        constants: dict[str, Any],
    ) -> dict[str, str | list[str]]:
        """Each column's COPY text, column by column: one text for a column whose value
        is the same in every row (most of a customer's, in a batch of new ones), else
        the column's cells, its formatter mapped over them (measured: half the time of
        formatting each row's cells in turn)."""
        fields = _fields(model)
        cells: dict[str, str | list[str]] = {}
        for column in columns:
            if column in constants:
                values = [constants[column]]
            else:
                values = [row.get(column) for row in rows]
            if _all_same(values):
                cells[column] = _copy_text(values[0])
            else:
                cells[column] = list(map(_formatter(fields[column]), values))
        return cells

    def allocate(self, model: type[models.Model], count: int) -> list[int]:
        # The sequence is named once and passed as a regclass: resolving it inside the
        # series looked it up per id (5x slower).
        sequence = _sequences.get(model._meta.db_table)
        with connection.cursor() as cursor:
            if sequence is None:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
                (sequence,) = cursor.fetchone()
                _sequences[model._meta.db_table] = sequence
            cursor.execute(
                "SELECT string_agg(nextval(%s::regclass)::text, ',') FROM generate_series(1, %s)",
                [sequence, count],
            )
            (text,) = cursor.fetchone()
            return list(map(int, text.split(",")))

    def stage(
        self, model: type[models.Model], rows: list[dict[str, Any]], constants: dict[str, Any]
    ) -> Staged:
        staged = super().stage(model, rows, constants)
        if rows:
            columns = list(_fields(model))
            staged.cells = self._cells(model, columns, rows, constants)
            staged.lines = list(_lines(columns, staged.cells, len(rows)))
        return staged

    def insert(self, staged: Staged) -> list[int]:
        if staged.rows:
            assert staged.lines is not None
            model = staged.model
            self._copy(_q(model._meta.db_table), list(_fields(model)), staged.lines)
        return staged.ids

    def update(
        self,
        model: type[models.Model],
        rows: list[dict[str, Any]],
        columns: list[str],
        constants: dict[str, Any],
    ) -> None:
        if not rows:
            return
        table = _q(model._meta.db_table)
        temp = f"import_update_{next(_temp_names)}"
        staged = ["id", *columns]
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {temp} ON COMMIT DROP AS "  # noqa: S608
                f"SELECT {', '.join(_q(c) for c in staged)} FROM {table} LIMIT 0"
            )
        self._copy(temp, staged, self._lines(model, staged, rows, {}))
        assignments = [f"{_q(c)} = s.{_q(c)}" for c in columns]
        assignments += [f"{_q(c)} = %s" for c in constants]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS t SET {', '.join(assignments)} "  # noqa: S608
                f"FROM {temp} AS s WHERE t.id = s.id",
                list(constants.values()),
            )
            cursor.execute(f"DROP TABLE {temp}")

    def delete(self, model: type[models.Model], ids: list[int]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {_q(model._meta.db_table)} WHERE id = ANY(%s::bigint[])",  # noqa: S608
                [int_array(ids)],
            )

    def new_history(self, staged: Staged, extra: dict[str, Any]) -> None:
        # From the COPY text the rows were inserted with: reading them back (INSERT …
        # SELECT) cost twice as much.
        if not staged.rows:
            return
        assert staged.cells is not None
        historical = _historical(staged.model)
        tracked = [f.attname for f in historical.tracked_fields]
        cells = {**staged.cells, **{name: _copy_text(value) for name, value in extra.items()}}
        columns = [*tracked, *extra]
        lines = _lines(columns, cells, len(staged.rows))
        self._copy(_q(historical._meta.db_table), columns, lines)

    def history(self, model: type[models.Model], ids: list[int], extra: dict[str, Any]) -> None:
        if not ids:
            return
        historical = _historical(model)
        tracked = [_q(f.attname) for f in historical.tracked_fields]
        extra_columns = [_q(name) for name in extra]
        # The id range lets PostgreSQL walk the primary key over the rows just written
        # (ids drawn together are close) instead of scanning the whole table.
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {_q(historical._meta.db_table)} "  # noqa: S608
                f"({', '.join([*tracked, *extra_columns])}) "
                f"SELECT {', '.join(tracked)}, {', '.join(['%s'] * len(extra))} "
                f"FROM {_q(model._meta.db_table)} "
                "WHERE id BETWEEN %s AND %s AND id = ANY(%s::bigint[])",
                [*extra.values(), min(ids), max(ids), int_array(ids)],
            )


def _historical(model: type[models.Model]) -> Any:
    """The simple-history model of `model` (its `history` manager is added at runtime)."""
    return getattr(model, "history").model  # noqa: B009


def backend() -> Backend:
    return PostgresBackend() if connection.vendor == "postgresql" else Backend()


class ConcurrentChange(Exception):
    """Customers of a batch changed between reading and writing it (another writer):
    the batch is rolled back and planned again (imports.services)."""

    def __init__(self, refs: list[str]) -> None:
        shown = ", ".join(sorted(set(refs))[:5])
        super().__init__(shown)
        self.refs = shown


class _Writer:
    """`prepare()` makes the rows to insert ready (on the planning thread, when the
    batch is written by another: imports.services); `write()` writes them, in the
    batch's transaction. `now` stamps the batch's rows."""

    def __init__(self, *, organisation_id: Any, change_reason: str, now: datetime) -> None:
        self.organisation_id = organisation_id
        self.backend = backend()
        self.now = now
        self.stamp = {"history_date": now, **history_stamp(reason=change_reason)}

    def _history(self, model: type[models.Model], ids: list[int], history_type: str) -> None:
        self.backend.history(model, ids, {**self.stamp, "history_type": history_type})

    def _lock_unchanged(self, expected: dict[int, tuple[str, Any]]) -> list[str]:
        """Lock the customers `expected` (id → (referenceId, updated_at as read)); the
        referenceIds of those that changed since they were read."""
        changed: list[str] = []
        ids = sorted(expected)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            seen = self.backend.locked_stamps(chunk)
            for pk in chunk:
                reference, updated_at = expected[pk]
                if seen.get(pk) != updated_at:
                    changed.append(reference)
        return changed


class PlanWriter(_Writer):
    """The customers of one batch (the caller's transaction commits it)."""

    def __init__(
        self,
        *,
        plan: Plan,
        organisation_id: Any,
        change_reason: str,
        now: datetime,
        exclude: Collection[str] = (),
    ) -> None:
        super().__init__(organisation_id=organisation_id, change_reason=change_reason, now=now)
        self.plan = plan
        self.exclude = exclude  # client numbers of batches not yet committed
        self.numbers: list[str] = []
        self.new: Staged | None = None

    def prepare(self) -> None:
        """The new customers' ids (on their rows), client numbers and columns."""
        rows: list[Row] = self.plan.create
        varying = {"client_number", "search_text", "import_digest", "public_id"}
        for row in rows:
            assert row.state is not None
            varying.update(row.state)
        constants = {
            f.attname: f.get_default()
            for f in Customer._meta.concrete_fields
            if not f.primary_key and f.attname not in varying
        }
        constants.update(
            organisation_id=self.organisation_id,
            created_at=self.now,
            updated_at=self.now,
            import_digest_at=self.now,
        )
        # A column some rows set (a person's given name) takes its default in the others.
        defaults = {
            f.attname: f.get_default()
            for f in Customer._meta.concrete_fields
            if not f.primary_key and f.attname in varying
        }
        values: list[dict[str, Any]] = []
        if rows:
            self.numbers = self.backend.client_numbers(
                self.organisation_id, len(rows), self.exclude
            )
        public_ids = uuid7_texts(len(rows))
        for row, number, public_id in zip(rows, self.numbers, public_ids, strict=True):
            state: dict[str, Any] = {**defaults, **(row.state or {}), "client_number": number}
            state["public_id"] = public_id
            state["search_text"] = search_text({**constants, **state})
            state["import_digest"] = row.digest
            values.append(state)
        self.new = self.backend.stage(Customer, values, constants)
        for row, pk in zip(rows, self.new.ids, strict=True):
            row.customer_id = pk

    def write(self) -> None:
        self._check_unchanged()
        new_ids = self._create_customers()
        changed = self._update_customers()
        self._record_digests()
        events.customers_written(
            organisation_id=self.organisation_id,
            created_ids=new_ids,
            changed_fields=changed,
            actor=current_actor(),
        )

    def _check_unchanged(self) -> None:
        """Rows read before the lock must not have changed since (another writer)."""
        expected = {
            row.existing["id"]: (row.reference or "", row.existing["updated_at"])
            for row in self.plan.update
            if row.existing
        }
        changed = self._lock_unchanged(expected)
        if changed:
            raise ConcurrentChange(changed)

    def _create_customers(self) -> list[int]:
        """Insert the new customers; returns their ids."""
        assert self.new is not None, "prepare() first"
        if not self.new.rows:
            return []
        ids = self.backend.insert(self.new)
        self.backend.new_history(self.new, {**self.stamp, "history_type": "+"})
        return ids

    def _update_customers(self) -> dict[int, set[str]]:
        """Write the changed customers; returns id → the names of its changed fields."""
        rows = self.plan.update
        if not rows:
            return {}
        changed: dict[int, set[str]] = {}
        values = []
        # search_text also folds what a row does not carry: read it for these rows only.
        extra = {
            values["id"]: values
            for start in range(0, len(rows), CHUNK)
            for values in Customer.objects.filter(
                pk__in=[row.existing["id"] for row in rows[start : start + CHUNK] if row.existing]
            ).values("id", *SEARCH_INPUTS)
        }
        for row in rows:
            assert row.state is not None and row.existing is not None
            changed[row.existing["id"]] = {
                name for name, value in row.state.items() if value != row.existing.get(name)
            }
            state = {**extra[row.existing["id"]], **row.state}
            state["search_text"] = search_text(state)
            state["import_digest"] = row.digest
            state["import_digest_at"] = self.now
            values.append(state)
        columns = {"search_text", "import_digest", "import_digest_at"}.union(*changed.values())
        columns -= {"id", "organisation_id", "created_at", "updated_at", "client_number"}
        self.backend.update(Customer, values, sorted(columns), {"updated_at": self.now})
        self._history(Customer, [state["id"] for state in values], "~")
        return changed

    def _record_digests(self) -> None:
        """Digests of the customers validated and found unchanged (imports.fingerprint;
        updated_at stays). Rows with connections get theirs with the connections."""
        verified = [
            {
                "id": row.existing["id"],
                "import_digest": row.digest,
                "import_digest_at": row.existing["updated_at"],
            }
            for row in self.plan.verified
            if row.existing and row.digest != row.existing["import_digest"]
        ]
        self.backend.update(Customer, verified, ["import_digest", "import_digest_at"], {})


class LinkWriter(_Writer):
    """The connections due in one batch (the caller's transaction commits it), once
    the batch's customers are written: `customer_ids` has the ids of the file's rows."""

    def __init__(
        self,
        *,
        plan: LinkPlan,
        customer_ids: Sequence[int],
        organisation_id: Any,
        change_reason: str,
        now: datetime,
    ) -> None:
        super().__init__(organisation_id=organisation_id, change_reason=change_reason, now=now)
        self.plan = plan
        self.customer_ids = customer_ids
        self.new: Staged | None = None

    def prepare(self) -> None:
        """The connections to write, against the ids of the customers they name (the
        batch's new ones drawn by its PlanWriter.prepare), and the new ones' ids."""
        self.plan.resolve(self.customer_ids, self.organisation_id)
        rows = [dict(item) for item in self.plan.create]
        for row in rows:
            row.pop("organisation_id", None)
        constants = {
            "organisation_id": self.organisation_id,
            "created_at": self.now,
            "updated_at": self.now,
        }
        self.new = self.backend.stage(Connection, rows, constants)

    def write(self) -> None:
        self._stamp_owners()
        connections = self._write_connections()
        self._record_digests()
        events.connections_changed(
            organisation_id=self.organisation_id, actor=current_actor(), **connections
        )

    def _stamp_owners(self) -> None:
        """The owners whose connections change get their digest and move updated_at (as
        in relations.services), unless their own write in this batch did (`fresh`); they,
        and the connections of those that had some, must not have changed since the
        import wrote or read them (another writer)."""
        changed_owners = self.plan.changed
        changed: list[Owner] = []
        stamps: list[tuple[int, str, datetime]] = []
        for pk, owner in changed_owners.items():
            if not owner.fresh:
                assert owner.stamp is not None  # set when its own row was written or read
                stamps.append((pk, owner.digest, owner.stamp))
        for start in range(0, len(stamps), CHUNK):
            gone = set(self.backend.stamp(stamps[start : start + CHUNK], self.now))
            changed.extend(changed_owners[pk] for pk in gone)
        owners = sorted(pk for pk, owner in changed_owners.items() if not owner.new)
        current: dict[int, set[int]] = {pk: set() for pk in owners}
        for start in range(0, len(owners), CHUNK):
            for pk, customer_id in self.backend.connection_ids(owners[start : start + CHUNK]):
                current[customer_id].add(pk)
        for pk in owners:
            if current[pk] != {c["id"] for c in self.plan.stored.get(pk, ())}:
                changed.append(changed_owners[pk])
        if changed:
            raise ConcurrentChange([owner.reference for owner in changed])

    def _write_connections(self) -> dict[str, Any]:
        """Write the planned connection changes; returns what `connections_changed`
        announces of them."""
        plan = self.plan
        removed = [events.RemovedConnection(**c) for c in plan.remove]
        if removed:
            ids = [c.id for c in removed]
            self._history(Connection, ids, "-")
            self.backend.delete(Connection, ids)
        if plan.update:
            self.backend.update(
                Connection, plan.update, ["ownership_percentage"], {"updated_at": self.now}
            )
            self._history(Connection, [c["id"] for c in plan.update], "~")
        assert self.new is not None, "prepare() first"
        rows = self.new.rows
        added: list[int] = []
        if rows:
            added = self.backend.insert(self.new)
            self.backend.new_history(self.new, {**self.stamp, "history_type": "+"})
        return {
            "customer_ids": set(plan.changed),
            "holder_ids": {c["connected_customer_id"] for c in (*rows, *plan.update, *plan.remove)},
            "added": added,
            "updated": [c["id"] for c in plan.update],
            "removed": removed,
        }

    def _record_digests(self) -> None:
        """The digests (imports.fingerprint) of the owners whose connections are as the
        file says: updated_at stays (a fresh owner's write stored its digest)."""
        verified = [
            {
                "id": owner.customer_id,
                "import_digest": owner.digest,
                "import_digest_at": owner.stamp,
            }
            for owner in self.plan.verified
            if not owner.fresh
        ]
        self.backend.update(Customer, verified, ["import_digest", "import_digest_at"], {})
