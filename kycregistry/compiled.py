"""An ORM query compiled to SQL once per process, then run again with other values.

Building a queryset and compiling it to SQL costs more than running it for the API's
one-row reads: ~1 ms of Python for the customer detail (its two annotated role
subqueries), against ~0.3 ms for the query itself (docs/performance.md). A
`CompiledQuery` is written as an ordinary queryset whose varying values are `Param`s;
it is compiled the first time it runs, and later runs only put the values in the SQL's
parameters and read the rows into model instances (`Manager.raw`).

    DETAIL = CompiledQuery(
        lambda: Customer.objects.filter(reference_id=Param("reference_id", CharField()))[:1]
    )
    rows = DETAIL.run(reference_id="C-1")

Only what a queryset states is compiled: a value that changes the SQL's shape (an
ordering, a filter present or not, a slice) is not a `Param` but another query.
"""

from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Compiled[M: Model]:
    model: type[M]
    sql: str
    params: tuple[Any, ...]  # a Param where a value goes
    names: frozenset[str]


class CompiledQuery[M: Model]:
    def __init__(self, build: Callable[[], QuerySet[M]]) -> None:
        self._build = build
        self._compiled: dict[str, _Compiled[M]] = {}  # by database alias

    def _compile(self, using: str) -> _Compiled[M]:
        compiled = self._compiled.get(using)
        if compiled is None:
            queryset = self._build().using(using)
            sql, params = queryset.query.sql_with_params()
            names = frozenset(param.name for param in params if isinstance(param, Param))
            compiled = self._compiled[using] = _Compiled(queryset.model, sql, tuple(params), names)
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
        return list(compiled.model._default_manager.db_manager(using).raw(compiled.sql, params))
