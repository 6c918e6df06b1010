"""The response envelope and the bearer-key authentication, end to end through Django and DRF.

This module is also the URLconf of its tests (`pytest.mark.urls`): the project's URLs,
plus a tenant-scoped probe view and a view that crashes, under /api/v1/test/.
"""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.utils import timezone
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kycregistry.api.exceptions import api_error_400, api_error_404, api_error_500
from kycregistry.api.responses import envelope
from kycregistry.api.scoping import ScopedAPIMixin
from organisations.models import ApiKey, Scope
from organisations.services import api_key_create, api_key_revoke


class ProbeView(ScopedAPIMixin, APIView):
    def get(self, request: Request) -> Response:
        return envelope({"organisation": self.organisation.slug}, "Probe fetched successfully")

    def post(self, request: Request) -> Response:
        return envelope(request.data, "Probe created successfully", status=201)

    def delete(self, request: Request) -> Response:
        return envelope(None, "Probe deleted successfully")


class CrashView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        raise RuntimeError("boom: a secret detail that must not leak")


def plain_form_view(request: HttpRequest) -> HttpResponse:
    """A plain Django view (no DRF) that reads a form body."""
    return HttpResponse(request.POST.get("name", ""))


urlpatterns = [
    path("api/v1/test/form", plain_form_view),
    path("api/v1/test/probe", ProbeView.as_view()),
    path("api/v1/test/crash", CrashView.as_view()),
    path("", include("kycregistry.urls")),
]
handler400 = api_error_400
handler404 = api_error_404
handler500 = api_error_500

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.test_envelope")]

PROBE = "/api/v1/test/probe"


def error(status: int, reason: str, message: str) -> dict:
    return {"message": message, "error": reason, "statusCode": status}


# --- success envelope -------------------------------------------------------------


def test_success_envelope(api):
    response = api.get(PROBE)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": 200,
        "message": "Probe fetched successfully",
        "data": {"organisation": "acme"},
        "code": "info",
    }


def test_created_envelope_repeats_the_status(api):
    response = api.post(PROBE, {"name": "Zoë"}, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == 201
    assert response.json()["data"] == {"name": "Zoë"}


# --- 404 / 405 / 413 / 500 -----------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/no-such-thing", "/api/nothing/", "/api/v1/test/probe/x"])
def test_unknown_api_url_is_json_404(api, url):
    response = api.get(url)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == error(404, "Not Found", "Not found.")


def test_unknown_api_url_is_404_without_a_key_too(anon_api):
    response = anon_api.post("/api/v1/no-such-thing", {}, format="json")
    assert response.status_code == 404
    assert response.json() == error(404, "Not Found", "Not found.")


def test_unknown_url_outside_the_api_stays_html(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "application/json" not in response["Content-Type"]


def test_method_not_allowed(api):
    response = api.put(PROBE, {}, format="json")
    assert response.status_code == 405
    assert response.json() == error(405, "Method Not Allowed", 'Method "PUT" not allowed.')


def test_method_not_allowed_on_a_real_endpoint(api):
    response = api.put("/api/v1/customers", {}, format="json")
    assert response.status_code == 405
    assert response.json() == error(405, "Method Not Allowed", 'Method "PUT" not allowed.')


def test_json_body_over_the_limit_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"name": "x" * 2000})
    response = api.post(PROBE, body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == error(
        413,
        "Content Too Large",
        f"Request body too large: {len(body)} bytes (at most 1000).",
    )


def test_form_body_over_the_limit_is_json_413(api, settings):
    """A body Django itself refuses (outside DRF) still gets the envelope."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post("/api/v1/test/form", {"name": "x" * 2000})
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    length = int(response.wsgi_request.META["CONTENT_LENGTH"])
    assert response.json() == error(
        413, "Content Too Large", f"Request body too large: {length} bytes (at most 1000)."
    )


def test_crash_is_a_json_500_without_details(client):
    client.raise_request_exception = False
    response = client.get("/api/v1/test/crash")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == error(
        500, "Internal Server Error", "Internal server error. The error was logged."
    )
    assert b"boom" not in response.content


# --- hostile JSON ----------------------------------------------------------------------


def post_raw(client, body: bytes | str):
    return client.post(PROBE, body, content_type="application/json")


def test_malformed_json(api):
    response = post_raw(api, b'{"name": ')
    assert response.status_code == 400
    assert response.json() == error(
        400, "Bad Request", "JSON parse error - Expecting value: line 1 column 10 (char 9)"
    )


def test_nul_character_is_refused(api):
    response = post_raw(api, b'{"name": "a\\u0000b"}')
    assert response.status_code == 400
    assert response.json() == error(
        400, "Bad Request", "NUL character (\\u0000) is not allowed in strings (at $.name)."
    )


def test_lone_surrogate_is_refused(api):
    response = post_raw(api, b'{"names": ["ok", "\\ud800"]}')
    assert response.status_code == 400
    assert response.json() == error(
        400, "Bad Request", "Invalid Unicode (lone surrogate) in a string (at $.names[1])."
    )


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(api, constant):
    response = post_raw(api, f'{{"riskScore": {constant}}}')
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Bad Request"
    assert body["message"].startswith("JSON parse error - ")
    assert constant.lstrip("-") in body["message"]


def test_deep_nesting_is_refused(api):
    response = post_raw(api, "[" * 40 + "]" * 40)
    assert response.status_code == 400
    assert response.json() == error(400, "Bad Request", "JSON nested deeper than 32 levels.")


def test_non_json_content_type_is_415(api):
    response = api.post(PROBE, "name=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json() == error(
        415, "Unsupported Media Type", 'Unsupported media type "text/plain" in request.'
    )


# --- authentication and scopes ---------------------------------------------------------


def test_no_key_is_401(anon_api):
    response = anon_api.get(PROBE)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == error(
        401, "Unauthorized", "Authentication required. Send 'Authorization: Bearer <key>'."
    )


def test_unknown_key_is_401(anon_api):
    anon_api.credentials(HTTP_AUTHORIZATION="Bearer kyc_not-a-real-key")
    response = anon_api.get(PROBE)
    assert response.status_code == 401
    assert response.json() == error(401, "Unauthorized", "Invalid or revoked API key.")


@pytest.mark.parametrize("header", ["Token abc", "Bearer", "Bearer a b", "kyc_abc"])
def test_malformed_authorization_header_is_401(anon_api, header):
    anon_api.credentials(HTTP_AUTHORIZATION=header)
    response = anon_api.get(PROBE)
    assert response.status_code == 401
    assert response.json() == error(
        401, "Unauthorized", "Invalid Authorization header. Send 'Authorization: Bearer <key>'."
    )


def test_revoked_key_is_401(api):
    api_key_revoke(api_key=api.api_key)
    response = api.get(PROBE)
    assert response.status_code == 401
    assert response.json() == error(401, "Unauthorized", "Invalid or revoked API key.")


def test_missing_scope_is_403(readonly_api):
    assert readonly_api.get(PROBE).status_code == 200
    response = readonly_api.delete(PROBE)
    assert response.status_code == 403
    assert response.json() == error(403, "Forbidden", "This API key lacks the kyc:delete scope.")
    response = readonly_api.post(PROBE, {}, format="json")
    assert response.status_code == 403
    assert response.json() == error(403, "Forbidden", "This API key lacks the kyc:create scope.")


def test_key_sees_its_own_organisation(api, outsider_api):
    assert api.get(PROBE).json()["data"] == {"organisation": "acme"}
    assert outsider_api.get(PROBE).json()["data"] == {"organisation": "outsider"}


def test_last_used_at_is_recorded(api):
    assert ApiKey.objects.get(pk=api.api_key.pk).last_used_at is None
    before = timezone.now()
    api.get(PROBE)
    first = ApiKey.objects.get(pk=api.api_key.pk).last_used_at
    assert first is not None and first >= before

    # Within a minute it is not rewritten (one write per minute, not per request) ...
    api.get(PROBE)
    assert ApiKey.objects.get(pk=api.api_key.pk).last_used_at == first

    # ... after a minute it is.
    ApiKey.objects.filter(pk=api.api_key.pk).update(last_used_at=first - timedelta(minutes=5))
    api.get(PROBE)
    assert ApiKey.objects.get(pk=api.api_key.pk).last_used_at >= before


def test_keys_are_stored_hashed(org):
    api_key, raw = api_key_create(organisation=org, scopes=[Scope.KYC_READ], name="x")
    stored = ApiKey.objects.filter(pk=api_key.pk).values()[0]
    assert raw not in json.dumps(stored, default=str)
    assert stored["prefix"] == raw[:12]


# --- schema and docs -------------------------------------------------------------------


def test_schema_is_public_openapi_3(anon_api):
    response = anon_api.get("/api/v1/schema/")
    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


def test_schema_as_json_documents_bearer_auth(anon_api):
    response = anon_api.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "kycregistry API"
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"


def test_schema_ignores_a_bad_key(anon_api):
    anon_api.credentials(HTTP_AUTHORIZATION="Bearer wrong")
    assert anon_api.get("/api/v1/schema/").status_code == 200


def test_docs_page_uses_local_assets_only(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html)
    styles = re.findall(r'<link[^>]*\bhref="([^"]+)"', html)
    assert any("swagger-ui-bundle.js" in src for src in scripts)
    assert all(src.startswith("/") for src in scripts + styles), scripts + styles
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script breaks the CSP"
    assert "<style" not in html and " style=" not in html, "inline style breaks the CSP"
    assert "Content-Security-Policy" in response.headers

    init = client.get("/api/v1/docs/", {"script": ""})
    assert init.status_code == 200
    assert "/api/v1/schema/" in init.content.decode()


def test_docs_assets_are_shipped(client):
    """They resolve to files of an installed app (served by whitenoise: tests/test_deploy.py)."""
    html = client.get("/api/v1/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="/static/([^"?]+)', html)
    assert len(assets) >= 3
    for asset in assets:
        assert finders.find(asset), asset
