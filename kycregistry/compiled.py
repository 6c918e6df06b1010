"""An ORM query compiled to SQL once per process, then run again with other values.

Building a queryset and compiling it to SQL costs more than running it for the API's
one-row reads: ~1 ms of Python for the customer detail (its two annotated role
subqueries), against ~0.3 ms for the query itself (docs/performance.md). A
`CompiledQuery` is written as an ordinary queryset whose varying values are `Param`s;
it is compiled the first time it runs, and later runs only put the values in the SQL's
parameters and make the model instances from the rows.

    DETAIL = CompiledQuery(
        lambda: Customer.objects.filter(reference_id=Param("reference_id", CharField()))[:1]
    )
    rows = DETAIL.run(reference_id="C-1")

Rows become instances as Django's own model iterable makes them: the compiler's
converters (JSON, dates, booleans, as the backend needs), then `Model.from_db` with
the selected fields (deferred ones stay deferred), annotations set as attributes. What
that needs from the compiler is kept from the first run, not worked out per row set as
`Manager.raw` would (~0.15 ms a query).

Only what a queryset states is compiled: a value that changes the SQL's shape (an
ordering, a filter present or not) is not a `Param` but another query. A window of
rows (`run(start=, stop=)`, or slicing `rows()` as a paginator does) puts the
backend's own LIMIT/OFFSET after the SQL; counts read the rows' keys without the
ordering, as `queryset.order_by()[:n].count()` does. The rows are the model's
instances, without `select_related()` ones.
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Expression, Field, Model, QuerySet


class Param(Expression):
    """A value given each time the compiled query runs (`CompiledQuery.run(name=value)`),
    prepared for the database as `field` prepares its own values."""

    def __init__(self, name: str, field: Field[Any, Any]) -> None:
        super().__init__(output_field=field)
        self.name = name

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        # The parameter is the Param itself: CompiledQuery.run puts the value there.
        return "%s", (self,)


def _names(params: Iterable[Any]) -> frozenset[str]:
    return frozenset(param.name for param in params if isinstance(param, Param))


class _Compiled[M: Model]:
    """A query's SQL and what turns its rows into model instances."""

    def __init__(self, queryset: QuerySet[M]) -> None:
        query = queryset.query
        compiler = query.get_compiler(queryset.db)
        sql, params = compiler.as_sql()
        klass_info = compiler.klass_info
        if klass_info is None or klass_info.get("related_klass_infos"):
            raise ValueError("A compiled query reads rows of its model only.")
        first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1]
        self.model: type[M] = klass_info["model"]
        self.sql = sql
        self.params: tuple[Any, ...] = tuple(params)  # a Param where a value goes
        self.names = _names(params)
        # A window of rows is the SQL with LIMIT/OFFSET after it: not for a query that
        # has its own, nor for FOR UPDATE (which comes after them).
        self.sliceable = not query.is_sliced and not query.select_for_update
        # Column position → (converters, expression), as the compiler applies them.
        self.converters = list(
            compiler.get_converters(
                [column for column, _sql, _alias in compiler.select[: compiler.col_count]]
            ).items()
        )
        self.fields = slice(first, last + 1)
        self.attnames = [column.target.attname for column, _s, _a in compiler.select[self.fields]]
        self.annotations = list(compiler.annotation_col_map.items())


class CompiledQuery[M: Model]:
    def __init__(self, build: Callable[[], QuerySet[M]]) -> None:
        self._build = build
        self._compiled: dict[str, _Compiled[M]] = {}  # by database alias
        # The same rows' primary keys without the ordering (counts, estimates).
        self._keys: dict[str, tuple[str, tuple[Any, ...]]] = {}

    def _compile(self, using: str) -> _Compiled[M]:
        compiled = self._compiled.get(using)
        if compiled is None:
            compiled = self._compiled[using] = _Compiled(self._build().using(using))
        return compiled

    @staticmethod
    def _prepare(params: tuple[Any, ...], using: str, values: dict[str, Any]) -> list[Any]:
        names = _names(params)
        if names != values.keys():
            raise TypeError(f"The query takes {sorted(names)}, was given {sorted(values)}.")
        connection = connections[using]
        return [
            param.output_field.get_db_prep_value(values[param.name], connection)
            if isinstance(param, Param)
            else param
            for param in params
        ]

    def run(
        self,
        *,
        using: str = DEFAULT_DB_ALIAS,
        start: int = 0,
        stop: int | None = None,
        **values: Any,
    ) -> list[M]:
        """The rows of the query with `values` for its parameters (every one given);
        with `start`/`stop`, only those rows (as slicing a queryset would)."""
        compiled = self._compile(using)
        params = self._prepare(compiled.params, using, values)
        connection = connections[using]
        sql = compiled.sql
        if start or stop is not None:
            if not compiled.sliceable:
                raise ValueError("This query cannot be read by windows of rows.")
            sql = f"{sql} {connection.ops.limit_offset_sql(start, stop)}"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        instances = []
        for row in rows:
            if compiled.converters:
                row = list(row)
                for position, (converters, expression) in compiled.converters:
                    for converter in converters:
                        row[position] = converter(row[position], expression, connection)
            instance = compiled.model.from_db(using, compiled.attnames, row[compiled.fields])
            for name, position in compiled.annotations:
                setattr(instance, name, row[position])
            instances.append(instance)
        return instances

    def keys_sql(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> tuple[str, list[Any]]:
        """The SQL (and parameters) of the rows' primary keys, unordered: what counts
        and planner estimates read."""
        keys = self._keys.get(using)
        if keys is None:
            queryset = self._build().using(using).order_by().values("pk")
            sql, params = queryset.query.sql_with_params()
            keys = self._keys[using] = (sql, tuple(params))
        return keys[0], self._prepare(keys[1], using, values)

    def count(
        self, *, using: str = DEFAULT_DB_ALIAS, upto: int | None = None, **values: Any
    ) -> int:
        """How many rows the query has (at most `upto`, counting no further)."""
        sql, params = self.keys_sql(using=using, **values)
        if upto is not None:
            sql = f"{sql} {connections[using].ops.limit_offset_sql(0, upto)}"
        with connections[using].cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) counted", params)  # noqa: S608
            (count,) = cursor.fetchone()
        return int(count)

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> "CompiledRows[M]":
        """The query's rows with `values`, to count and slice (a paginator's object list)."""
        return CompiledRows(self, using, values)


class CompiledRows[M: Model]:
    """A compiled query's rows with their values, counted and sliced without building a
    queryset: what a paginator needs (`kycregistry.api.pagination`)."""

    def __init__(self, query: CompiledQuery[M], using: str, values: dict[str, Any]) -> None:
        self.query = query
        self.db = using
        self.values = values

    def __getitem__(self, window: slice) -> list[M]:
        if window.step is not None:
            raise ValueError("Rows are read by windows without a step.")
        return self.query.run(
            using=self.db, start=window.start or 0, stop=window.stop, **self.values
        )

    def count(self, *, upto: int | None = None) -> int:
        return self.query.count(using=self.db, upto=upto, **self.values)

    def keys_sql(self) -> tuple[str, list[Any]]:
        return self.query.keys_sql(using=self.db, **self.values)
