"""One place that turns every error into the error envelope (README "API").

DRF exceptions go through `envelope_exception_handler`; Django-level failures under
/api/ (unknown URL, body too large, crash) go through the `api_error_*` handlers that
kycregistry.urls installs.
"""

import logging
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


def error_body(status_code: int, message: str, errors: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message": message,
        "error": HTTPStatus(status_code).phrase,
        "statusCode": status_code,
    }
    if errors:
        body["errors"] = errors
    return body


class ApiError(exceptions.APIException):
    """An error whose status, message and (optional) field errors the view names itself;
    raise it instead of building an error body by hand."""

    def __init__(
        self, status_code: int, message: str, errors: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.errors = errors


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "too_large"


def too_large_message(request: object) -> str:
    """Names the size and the limit: a client can act on that."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    meta = getattr(request, "META", {})
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length and limit is not None:
        return f"Request body too large: {length} bytes (at most {limit})."
    return PayloadTooLarge.default_detail


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _flatten(value)]
    if isinstance(detail, list):
        return [m for value in detail for m in _flatten(value)]
    return [str(detail)]


def _field_errors(detail: Any) -> dict[str, Any] | None:
    if not isinstance(detail, dict):
        return None
    return {key: [str(m) for m in _flatten(value)] for key, value in detail.items()}


def _join(messages: list[str]) -> str:
    """Sentences follow each other; bare phrases are separated by "; "."""
    text = ""
    for message in messages:
        separator = " " if text.endswith((".", "!", "?")) else "; "
        text = f"{text}{separator}{message}" if text else message
    return text


def _message_for(detail: Any) -> str:
    """A sentence that reads well alone: the single message, or field: message pairs."""
    if isinstance(detail, dict):
        parts = []
        for key, value in detail.items():
            messages = _join(_flatten(value))
            parts.append(
                messages if key in ("non_field_errors", "__all__") else f"{key}: {messages}"
            )
        return _join(parts) or "Invalid request."
    return _join(_flatten(detail)) or "Invalid request."


def django_validation_detail(exc: DjangoValidationError) -> Any:
    if hasattr(exc, "error_dict"):
        return {key: [m for e in errs for m in e.messages] for key, errs in exc.error_dict.items()}
    return exc.messages


def envelope_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(django_validation_detail(exc))
    elif isinstance(exc, Http404):
        message = str(exc) if exc.args and str(exc) else "Not found."
        exc = exceptions.NotFound(message)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        # DRF reads the body through Django, whose message names a setting.
        exc = PayloadTooLarge(too_large_message(context.get("request")))

    if not isinstance(exc, exceptions.APIException):
        return None  # Django's handler500 answers (with the envelope under /api/).

    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        body = error_body(exc.status_code, _message_for(detail), _field_errors(detail))
    elif isinstance(exc, ApiError):
        body = error_body(exc.status_code, str(detail), exc.errors)
    else:
        body = error_body(exc.status_code, _message_for(detail))
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(exc.wait)  # type: ignore[attr-defined]
    return Response(body, status=exc.status_code, headers=headers)


def _json_error(status_code: int, message: str) -> JsonResponse:
    return JsonResponse(error_body(status_code, message), status=status_code)


def api_error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return _json_error(404, "Not found.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def api_error_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        if isinstance(exception, RequestDataTooBig):
            return _json_error(413, too_large_message(request))
        return _json_error(400, "Bad request.")
    from django.views.defaults import bad_request

    return bad_request(request, exception or Exception())


def api_error_500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return _json_error(500, "Internal server error. The error was logged.")
    from django.views.defaults import server_error

    return server_error(request)
