"""Page-number pagination with the §3 `meta`, and a count that stays cheap.

DRF's paginator runs COUNT(*) over the whole result on every page: at 100,000
customers that costs more than the page itself (PERFORMANCE.md). Here the count is
exact up to KYC_EXACT_COUNT_LIMIT rows (a bounded subquery); above that PostgreSQL's
planner estimate is used and `meta` says so with `"totalElementsExact": false`, and
every page is served (past the real end, empty). SQLite counts exactly.
"""

import json
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import QuerySet
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from kycregistry.api.responses import envelope


def planner_estimate(queryset: QuerySet[Any]) -> int:
    """The number of rows PostgreSQL's planner expects `queryset` to return."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class CappedCountPaginator(Paginator):
    @cached_property
    def counted(self) -> tuple[int, bool]:
        """(the number of rows, whether it is exact)."""
        if not isinstance(self.object_list, QuerySet):
            return len(self.object_list), True
        queryset = self.object_list.order_by()
        limit = settings.KYC_EXACT_COUNT_LIMIT
        capped = queryset[: limit + 1].count()
        if capped <= limit:
            return capped, True
        if connections[queryset.db].vendor != "postgresql":
            return queryset.count(), True
        return max(limit + 1, planner_estimate(queryset)), False

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


class PagePagination(PageNumberPagination):
    """`page` (1-based) and `pageSize` (default 20, capped at 100) → §3 `meta`."""

    page_size = 20
    page_size_query_param = "pageSize"
    max_page_size = 100
    message = "Records fetched successfully"
    django_paginator_class = CappedCountPaginator

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        self._positive_int(request, self.page_query_param)
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound:
            raise NotFound("Invalid page: past the last page.") from None

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
                    "properties": {
                        "page": {"type": "integer"},
                        "pageSize": {"type": "integer"},
                        "totalElements": {"type": "integer"},
                        "totalPages": {"type": "integer"},
                        "totalElementsExact": {
                            "type": "boolean",
                            "description": "Present (false) only when totalElements is "
                            "an estimate: more than KYC_EXACT_COUNT_LIMIT rows, PostgreSQL.",
                        },
                    },
                },
            },
        }
