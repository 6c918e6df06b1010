"""JSON parsing that refuses what a database or a compliance record should never hold."""

from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from kycregistry.api.exceptions import PayloadTooLarge

MAX_DEPTH = 32


def _check(value: Any, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.")
    if isinstance(value, str):
        if "\x00" in value:
            raise ParseError(f"NUL character (\\u0000) is not allowed in strings (at {path}).")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ParseError(f"Invalid Unicode (lone surrogate) in a string (at {path}).") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key, path, depth + 1)
            _check(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]", depth + 1)


def check_json_value(value: Any) -> None:
    """Raise ParseError on NUL bytes, lone surrogates or excessive nesting."""
    _check(value, "$", 0)


class StrictJSONParser(JSONParser):
    """DRF's parser (which already refuses NaN/Infinity) plus `check_json_value`."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        # DRF reads the body with request.read(), which skips Django's size check.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        length = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        if limit is not None and length > limit:
            raise PayloadTooLarge(f"Request body too large: {length} bytes (at most {limit}).")
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.") from None
        check_json_value(data)
        return data
