"""Page-number pagination with the envelope's `meta`, and a count that stays cheap.

DRF's paginator runs COUNT(*) over the whole result on every page: at 100,000
customers that costs more than the page itself (docs/performance.md). Here the count is
exact up to KYC_EXACT_COUNT_LIMIT rows (a bounded subquery); above that PostgreSQL's
planner estimate is used and `meta` says so with `"totalElementsExact": false`, and
every page is served (past the real end, empty). An estimate of more than
ESTIMATE_MARGIN times the limit (and ESTIMATE_TRUSTED_FROM rows) is kept for
ESTIMATE_SECONDS per process and per query: the next pages of that list cost no count
at all. SQLite counts exactly.

Keyset pagination sits beside it: `?cursor=` (empty to start) answers a page and
`meta.nextCursor`, the opaque position after its last row (base64 of the ordering's
values and the id). The next page is read with a WHERE on that position, not an
OFFSET, and without a COUNT: page 5,000 costs what page 1 costs.
"""

import base64
import binascii
import json
import time
from collections.abc import Sequence
from datetime import date, datetime
from functools import cached_property, reduce
from operator import and_, or_
from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import F, Q, QuerySet
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from kycregistry.api.responses import envelope
from kycregistry.compiled import CompiledRows


def planner_estimate(db: str, sql: str, params: Sequence[Any]) -> int:
    """The number of rows PostgreSQL's planner expects the query `sql` to return."""
    with connections[db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


# An estimate this many times the limit, and this large, is kept and reused for a few
# seconds (a small or never analysed table can be estimated far off: never kept).
ESTIMATE_MARGIN = 5
ESTIMATE_TRUSTED_FROM = 50_000
ESTIMATE_SECONDS = 10.0
_estimates: dict[tuple[str, str, tuple[Any, ...]], tuple[float, int]] = {}


class _QuerySetRows:
    """A queryset counted as CompiledRows are (kycregistry.compiled)."""

    def __init__(self, queryset: QuerySet[Any]) -> None:
        self.queryset = queryset.order_by()
        self.db = queryset.db

    def count(self, *, upto: int | None = None) -> int:
        return (self.queryset if upto is None else self.queryset[:upto]).count()

    def keys_sql(self) -> tuple[str, Sequence[Any]]:
        return self.queryset.query.sql_with_params()


class CappedCountPaginator(Paginator):
    """Pages of a queryset, or of a compiled query's rows (`CompiledRows`: a list read
    on every request, compiled once), counted up to KYC_EXACT_COUNT_LIMIT."""

    @cached_property
    def counted(self) -> tuple[int, bool]:
        """(the number of rows, whether it is exact)."""
        rows: _QuerySetRows | CompiledRows[Any]
        if isinstance(self.object_list, QuerySet):
            rows = _QuerySetRows(self.object_list)
        elif isinstance(self.object_list, CompiledRows):
            rows = self.object_list
        else:
            return len(self.object_list), True
        limit = settings.KYC_EXACT_COUNT_LIMIT
        postgresql = connections[rows.db].vendor == "postgresql"
        key: tuple[str, str, tuple[Any, ...]] | None = None
        if postgresql:
            sql, params = rows.keys_sql()
            key = (rows.db, sql, tuple(params))
            kept = _estimates.get(key)
            if kept is not None and kept[0] > time.monotonic():
                return kept[1], False
        capped = rows.count(upto=limit + 1)
        if capped <= limit:
            return capped, True
        if not postgresql or key is None:
            return rows.count(), True
        estimate = max(limit + 1, planner_estimate(*key))
        if estimate > max(limit * ESTIMATE_MARGIN, ESTIMATE_TRUSTED_FROM):
            if len(_estimates) > 1000:
                _estimates.clear()
            _estimates[key] = (time.monotonic() + ESTIMATE_SECONDS, estimate)
        return estimate, False

    @property
    def count(self) -> int:  # type: ignore[override]
        return self.counted[0]

    @property
    def exact(self) -> bool:
        return self.counted[1]

    def page(self, number: Any) -> Page:
        if self.exact:
            return super().page(number)
        # An estimate may be low: every page is served, past the real end empty.
        number = int(number)
        bottom = (number - 1) * self.per_page
        return Page(self.object_list[bottom : bottom + self.per_page], number, self)


CURSOR_INVALID = "Invalid cursor: send meta.nextCursor of the previous page unchanged."


def _ordering(queryset: QuerySet[Any]) -> list[tuple[str, bool]]:
    """(field, descending) for each ordering term, or ValueError if a term is not a
    plain field name."""
    terms = list(queryset.query.order_by or queryset.model._meta.ordering or ())
    ordering = []
    for term in terms:
        if not isinstance(term, str) or "__" in term or term.startswith("?"):
            raise ValueError(term)
        name = term.lstrip("-")
        ordering.append(("id" if name == "pk" else name, term.startswith("-")))
    if not ordering or ordering[-1][0] != "id":
        raise ValueError("the ordering does not end with the id")
    return ordering


def _encode(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _decode(value: Any, field: Any) -> Any:
    if value is None or field.get_internal_type() not in ("DateTimeField", "DateField"):
        return value
    if not isinstance(value, str):
        raise ValueError(value)
    if field.get_internal_type() == "DateField":
        return date.fromisoformat(value)
    return datetime.fromisoformat(value)


def encode_cursor(ordering: list[tuple[str, bool]], values: list[Any]) -> str:
    signature = ",".join(("-" if desc else "") + name for name, desc in ordering)
    raw = json.dumps({"o": signature, "k": [_encode(v) for v in values]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, queryset: QuerySet[Any], ordering: list[tuple[str, bool]]) -> Q:
    """The WHERE that starts after the cursor's row; ValueError if the cursor is not one
    this ordering made."""
    signature = ",".join(("-" if desc else "") + name for name, desc in ordering)
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise ValueError(cursor) from exc
    if not isinstance(payload, dict) or payload.get("o") != signature:
        raise ValueError(cursor)
    raw_values = payload.get("k")
    if not isinstance(raw_values, list) or len(raw_values) != len(ordering):
        raise ValueError(cursor)
    meta = queryset.model._meta
    values = []
    for (name, _desc), raw in zip(ordering, raw_values, strict=True):
        field = meta.get_field(name)
        value = _decode(raw, field)
        if value is None and not field.null:
            raise ValueError(cursor)
        if value is not None and not isinstance(value, (str, int, float, date)):
            raise ValueError(cursor)
        if isinstance(value, bool) or (name == "id" and not isinstance(value, int)):
            raise ValueError(cursor)
        values.append(value)
    return _after(ordering, values)


def _after(ordering: list[tuple[str, bool]], values: list[Any]) -> Q:
    """Rows after `values` in `ordering`, NULLs last when ascending and first when
    descending (keyset_order places them so)."""
    alternatives = []
    for index, ((name, desc), value) in enumerate(zip(ordering, values, strict=True)):
        before = zip(ordering[:index], values[:index], strict=True)
        equal_before = [_equal(n, v) for (n, _d), v in before]
        if value is None:
            beyond = Q(**{f"{name}__isnull": False}) if desc else None
        else:
            beyond = Q(**{f"{name}__lt" if desc else f"{name}__gt": value})
            if not desc:
                beyond |= Q(**{f"{name}__isnull": True})
        if beyond is not None:
            alternatives.append(reduce(and_, [*equal_before, beyond]))
    return reduce(or_, alternatives) if alternatives else Q(pk__in=[])


def _equal(name: str, value: Any) -> Q:
    return Q(**{f"{name}__isnull": True}) if value is None else Q(**{name: value})


def keyset_order(queryset: QuerySet[Any], ordering: list[tuple[str, bool]]) -> QuerySet[Any]:
    """The same ordering with NULLs placed explicitly (the databases differ)."""
    return queryset.order_by(
        *(
            F(name).desc(nulls_first=True) if desc else F(name).asc(nulls_last=True)
            for name, desc in ordering
        )
    )


class PagePagination(PageNumberPagination):
    """`page` (1-based) and `pageSize` (default 20, capped at 100) → the envelope's `meta`; or
    `cursor` and `pageSize` → `meta.nextCursor`."""

    page_size = 20
    page_size_query_param = "pageSize"
    max_page_size = 100
    message = "Records fetched successfully"
    django_paginator_class = CappedCountPaginator

    cursor_query_param = "cursor"
    next_cursor: str | None = None
    cursor_mode = False

    def by_cursor(self, request: Request) -> bool:
        """Whether the request reads a page by cursor (a queryset is needed then)."""
        return self.cursor_query_param in request.query_params

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        self._positive_int(request, self.page_query_param)
        if self.by_cursor(request):
            return self.paginate_by_cursor(queryset, request)
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound:
            raise NotFound("Invalid page: past the last page.") from None

    def paginate_by_cursor(self, queryset: QuerySet[Any], request: Request) -> list[Any]:
        """`page` is ignored (it must still be valid): the cursor says where the page
        starts."""
        self.cursor_mode = True
        self.request = request
        self.page_size_used = size = self.get_page_size(request)
        try:
            ordering = _ordering(queryset)
        except ValueError:
            raise ValidationError(
                {self.cursor_query_param: ["This list cannot be read by cursor."]}
            ) from None
        cursor = request.query_params[self.cursor_query_param]
        if cursor:
            try:
                queryset = queryset.filter(decode_cursor(cursor, queryset, ordering))
            except ValueError:
                raise ValidationError({self.cursor_query_param: [CURSOR_INVALID]}) from None
        rows = list(keyset_order(queryset, ordering)[: size + 1])
        if len(rows) > size:
            rows = rows[:size]
            last = rows[-1]
            values = [getattr(last, name) for name, _desc in ordering]
            self.next_cursor = encode_cursor(ordering, values)
        return rows

    def get_page_size(self, request: Request) -> int:
        size = self._positive_int(request, self.page_size_query_param)
        return self.page_size if size is None else min(size, self.max_page_size)

    @staticmethod
    def _positive_int(request: Request, name: str) -> int | None:
        raw = request.query_params.get(name)
        if raw is None:
            return None
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise ValidationError({name: ["Must be a positive integer."]})
        return int(raw)

    def meta(self) -> dict[str, Any]:
        if self.cursor_mode:
            return {"pageSize": self.page_size_used, "nextCursor": self.next_cursor}
        page = self.page
        assert page is not None
        meta = {
            "page": page.number,
            "pageSize": page.paginator.per_page,
            "totalElements": page.paginator.count,
            "totalPages": page.paginator.num_pages,
        }
        if not page.paginator.exact:  # type: ignore[attr-defined]
            meta["totalElementsExact"] = False
        return meta

    def get_paginated_response(self, data: Any) -> Response:
        return envelope(data, getattr(self, "response_message", self.message), meta=self.meta())

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["status", "message", "data", "code", "meta"],
            "properties": {
                "status": {"type": "integer", "example": 200},
                "message": {"type": "string"},
                "data": schema,
                "code": {"type": "string", "example": "info"},
                "meta": {
                    "type": "object",
                    "description": "With `page`: page, pageSize, totalElements, totalPages. "
                    "With `cursor`: pageSize and nextCursor.",
                    "properties": {
                        "page": {"type": "integer"},
                        "pageSize": {"type": "integer"},
                        "totalElements": {"type": "integer"},
                        "totalPages": {"type": "integer"},
                        "nextCursor": {
                            "type": "string",
                            "nullable": True,
                            "description": "With `cursor`: the cursor of the next page; "
                            "null on the last page.",
                        },
                        "totalElementsExact": {
                            "type": "boolean",
                            "description": "Present (false) only when totalElements is "
                            "an estimate: more than KYC_EXACT_COUNT_LIMIT rows, PostgreSQL.",
                        },
                    },
                },
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "1-based page number. A page past the last one is 404.",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Default {self.page_size}, at most {self.max_page_size} "
                "(larger values are capped); 0 or not a number is 400.",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Keyset pagination instead of `page` (which is then "
                "ignored): empty for the first page, then `meta.nextCursor` of the previous "
                "page. Constant cost per page; "
                "no totals. A cursor is only valid with the ordering that made it; a bad "
                "cursor is 400.",
                "schema": {"type": "string"},
            },
        ]
