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
ordering, a filter present or not, a slice) is not a `Param` but another query. The
rows are the model's instances, without `select_related()` ones.
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


class _Compiled[M: Model]:
    """A query's SQL and what turns its rows into model instances."""

    def __init__(self, queryset: QuerySet[M]) -> None:
        compiler = queryset.query.get_compiler(queryset.db)
        sql, params = compiler.as_sql()
        klass_info = compiler.klass_info
        if klass_info is None or klass_info.get("related_klass_infos"):
            raise ValueError("A compiled query reads rows of its model only.")
        first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1]
        self.model: type[M] = klass_info["model"]
        self.sql = sql
        self.params: tuple[Any, ...] = tuple(params)  # a Param where a value goes
        self.names = frozenset(param.name for param in params if isinstance(param, Param))
        self.compiler = compiler
        self.converters = compiler.get_converters(
            [column for column, _sql, _alias in compiler.select[: compiler.col_count]]
        )
        self.fields = slice(first, last + 1)
        self.attnames = [column.target.attname for column, _s, _a in compiler.select[self.fields]]
        self.annotations = list(compiler.annotation_col_map.items())


class CompiledQuery[M: Model]:
    def __init__(self, build: Callable[[], QuerySet[M]]) -> None:
        self._build = build
        self._compiled: dict[str, _Compiled[M]] = {}  # by database alias

    def _compile(self, using: str) -> _Compiled[M]:
        compiled = self._compiled.get(using)
        if compiled is None:
            compiled = self._compiled[using] = _Compiled(self._build().using(using))
        return compiled

    def run(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[M]:
        """The rows of the query with `values` for its parameters (every one given)."""
        compiled = self._compile(using)
        if compiled.names != values.keys():
            raise TypeError(
                f"The query takes {sorted(compiled.names)}, was given {sorted(values)}."
            )
        connection = connections[using]
        params = [
            param.output_field.get_db_prep_value(values[param.name], connection)
            if isinstance(param, Param)
            else param
            for param in compiled.params
        ]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows: Iterable[Any] = cursor.fetchall()
        if compiled.converters:
            rows = compiled.compiler.apply_converters(rows, compiled.converters)
        instances = []
        for row in rows:
            instance = compiled.model.from_db(using, compiled.attnames, row[compiled.fields])
            for name, position in compiled.annotations:
                setattr(instance, name, row[position])
            instances.append(instance)
        return instances
