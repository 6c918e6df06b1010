"""The success envelope: {"status", "message", "data", "code"} (+ "meta" on lists)."""

from typing import Any

from rest_framework.response import Response


def envelope(
    data: Any, message: str, *, status: int = 200, meta: dict[str, Any] | None = None
) -> Response:
    body: dict[str, Any] = {"status": status, "message": message, "data": data, "code": "info"}
    if meta is not None:
        body["meta"] = meta
    return Response(body, status=status)
