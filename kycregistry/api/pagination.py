from typing import Any

from django.core.paginator import InvalidPage
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from kycregistry.api.responses import envelope


class PagePagination(PageNumberPagination):
    """`page` (1-based) and `pageSize` (default 20, capped at 100) → §3 `meta`."""

    page_size = 20
    page_size_query_param = "pageSize"
    max_page_size = 100
    message = "Records fetched successfully"

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
        return {
            "page": page.number,
            "pageSize": page.paginator.per_page,
            "totalElements": page.paginator.count,
            "totalPages": page.paginator.num_pages,
        }

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
                    },
                },
            },
        }


__all__ = ["InvalidPage", "PagePagination"]
