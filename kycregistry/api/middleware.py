"""HTTP rules of every answer under /api/, before and after DRF sees the request.

- Plain HTTP where HTTPS is required (SECURE_SSL_REDIRECT) is refused with a JSON 403:
  a redirect would tell a client to send again, after its key already went in clear,
  and a redirected POST loses its body. Other pages keep Django's redirect.
- A body sent with `Transfer-Encoding` and no `Content-Length` is refused with a JSON
  411: Django reads the body up to Content-Length, so it would otherwise look empty.
- Every API answer carries personal data or describes it: `Cache-Control: no-store`.
- A NUL character in the URL is a 400 everywhere (RejectNulMiddleware).
- Pages outside the API (the admin) need sessions, users, messages and htmx; API
  routes authenticate with a key in a header and use none of it. `web_only` wraps such
  a middleware so that it steps aside under /api/.
"""

from collections.abc import Callable
from functools import partial
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.module_loading import import_string

from kycregistry.api.exceptions import error_body

API_PREFIX = "/api/"
NUL_MESSAGE = "The URL must not contain the NUL character (%00)."
HTTPS_REQUIRED = "HTTPS required: send API requests to the https:// address."
LENGTH_REQUIRED = (
    "Length required: send the body with a Content-Length header "
    "(chunked transfer encoding is not supported)."
)


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _json_error(status: int, message: str) -> JsonResponse:
    return JsonResponse(error_body(status, message), status=status)


class ApiMiddleware:
    """Placed before Django's SecurityMiddleware, which would redirect plain HTTP."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api(request):
            return self.get_response(request)
        response = self.answer_early(request) or self.get_response(request)
        response["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def answer_early(request: HttpRequest) -> HttpResponse | None:
        if settings.SECURE_SSL_REDIRECT and not request.is_secure():
            return _json_error(403, HTTPS_REQUIRED)
        meta = request.META
        if meta.get("HTTP_TRANSFER_ENCODING") and not meta.get("CONTENT_LENGTH"):
            return _json_error(411, LENGTH_REQUIRED)
        return None


_HOOKS = ("process_view", "process_exception", "process_template_response")


class WebOnly:
    """Mixed in before a middleware class (see `web_only`): the middleware runs for
    every path but /api/. Being a subclass of it, it still satisfies checks such as
    the admin's "AuthenticationMiddleware must be in MIDDLEWARE"."""

    get_response: Callable[[HttpRequest], HttpResponse]

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(get_response)  # type: ignore[call-arg]
        self.get_response = get_response
        # The handler collects these hooks by hasattr() when it loads the middleware.
        for name in _HOOKS:
            method = getattr(self, name, None)
            if method is not None:
                setattr(self, name, partial(self._hook, method))

    @staticmethod
    def _hook(method: Callable[..., Any], request: HttpRequest, *args: Any) -> Any:
        if not is_api(request):
            return method(request, *args)
        # process_template_response hands the response on; the others pass with None.
        return args[0] if method.__name__ == "process_template_response" else None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api(request):
            return self.get_response(request)
        return super().__call__(request)  # type: ignore[misc]


def web_only(dotted_path: str) -> type:
    middleware = import_string(dotted_path)
    return type(f"WebOnly{middleware.__name__}", (WebOnly, middleware), {})


# Settings name middleware by dotted path: one name per wrapped middleware.
SessionMiddleware = web_only("django.contrib.sessions.middleware.SessionMiddleware")
AuthenticationMiddleware = web_only("django.contrib.auth.middleware.AuthenticationMiddleware")
MessageMiddleware = web_only("django.contrib.messages.middleware.MessageMiddleware")
HtmxMiddleware = web_only("django_htmx.middleware.HtmxMiddleware")


class RejectNulMiddleware:
    """A NUL character in the URL (path or query) is a 400: PostgreSQL cannot compare
    text with it, so a lookup by such a referenceId or key would otherwise fail with a
    server error. Under /api/ the answer carries the error envelope."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            if is_api(request):
                return _json_error(400, NUL_MESSAGE)
            return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain")
        return self.get_response(request)
