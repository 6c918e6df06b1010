"""Requests no view can answer sensibly are refused before any view runs."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

from kycregistry.api.exceptions import error_body

NUL_MESSAGE = "The URL must not contain the NUL character (%00)."


def _has_nul(request: HttpRequest) -> bool:
    query = request.META.get("QUERY_STRING", "")
    return "\x00" in request.path or "%00" in query or "\x00" in query


class RejectNulMiddleware:
    """A NUL character in the URL (path or query) is a 400: PostgreSQL cannot compare
    text with it, so a lookup by such a referenceId or key would otherwise fail with a
    server error. Under /api/ the answer carries the error envelope."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            if request.path.startswith("/api/"):
                return JsonResponse(error_body(400, NUL_MESSAGE), status=400)
            return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain")
        return self.get_response(request)
