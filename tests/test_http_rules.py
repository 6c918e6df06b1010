"""HTTP rules every API answer follows: methods, HTTPS, caching, bodies, the Bearer
scheme, and what the schema documents about lists."""

import json

import pytest
from django.test import override_settings

from customers.models import Customer
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/customers"


def error(status: int, reason: str, message: str) -> dict:
    return {"message": message, "error": reason, "statusCode": status}


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND"])
def test_unknown_methods_are_405(api, method):
    response = api.generic(method, LIST)
    assert response.status_code == 405
    assert response.json() == error(405, "Method Not Allowed", f'Method "{method}" not allowed.')


def test_a_method_the_view_lacks_is_405_even_without_the_scope(readonly_api):
    response = readonly_api.put(LIST, {}, format="json")
    assert response.status_code == 405
    assert response.json() == error(405, "Method Not Allowed", 'Method "PUT" not allowed.')


def test_without_a_key_an_unknown_method_is_still_401(anon_api):
    response = anon_api.generic("TRACE", LIST)
    assert response.status_code == 401


@override_settings(SECURE_SSL_REDIRECT=True)
def test_plain_http_under_the_api_is_a_json_403_not_a_redirect(api):
    response = api.post(LIST, {"name": "x"}, format="json")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json() == error(
        403, "Forbidden", "HTTPS required: send API requests to the https:// address."
    )
    assert Customer.objects.count() == 0
    # Behind the TLS proxy the same request goes through.
    response = api.get(LIST, HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200


@override_settings(SECURE_SSL_REDIRECT=True)
def test_the_admin_still_redirects_to_https(client):
    response = client.get("/admin/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/admin/"


def test_production_settings_use_the_api_security_middleware():
    from kycregistry.settings import base

    # The request id comes first so that every answer, an early one too, carries it.
    assert base.MIDDLEWARE[:3] == [
        "kycregistry.api.request_id.RequestIdMiddleware",
        "kycregistry.api.middleware.ApiMiddleware",
        "django.middleware.security.SecurityMiddleware",
    ]


@pytest.mark.parametrize(
    ("client_name", "url", "status"),
    [
        ("api", LIST, 200),
        ("api", "/api/v1/customers/NOPE", 404),
        ("anon_api", LIST, 401),
        ("api", "/api/v1/no-such-thing", 404),
    ],
)
def test_every_api_answer_is_no_store(request, client_name, url, status):
    response = request.getfixturevalue(client_name).get(url)
    assert response.status_code == status
    assert response["Cache-Control"] == "no-store"


def test_pages_outside_the_api_keep_their_caching(client):
    response = client.get("/admin/login/")
    assert response.get("Cache-Control") != "no-store"


def test_a_chunked_body_is_411_not_read_as_empty(api):
    body = json.dumps({"referenceId": "C1", "name": "Chunked", "accountTypeId": 1})
    response = api.post(
        LIST,
        body,
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        CONTENT_LENGTH="",
    )
    assert response.status_code == 411
    assert response.json() == error(
        411,
        "Length Required",
        "Length required: send the body with a Content-Length header "
        "(chunked transfer encoding is not supported).",
    )
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr"])
def test_the_bearer_scheme_is_case_insensitive(api, anon_api, scheme):
    raw = api._credentials["HTTP_AUTHORIZATION"].split(" ", 1)[1]
    anon_api.credentials(HTTP_AUTHORIZATION=f"{scheme} {raw}")
    assert anon_api.get(LIST).status_code == 200


@pytest.mark.parametrize("params", [{"threshold": ""}, {"asOf": ""}])
def test_empty_ownership_parameters_are_refused(api, org, params):
    CompanyFactory(organisation=org, reference_id="T")
    response = api.get("/api/v1/customers/T/organization", params)
    assert response.status_code == 400
    name = next(iter(params))
    message = {
        "threshold": "Must be a number greater than 0 and at most 100.",
        "asOf": "Must be a date in YYYY-MM-DD format.",
    }[name]
    assert response.json() == {
        **error(400, "Bad Request", f"{name}: {message}"),
        "errors": {name: [message]},
    }


@pytest.fixture
def schema(anon_api) -> dict:
    return anon_api.get("/api/v1/schema/", {"format": "json"}).json()


LIST_OPERATIONS = [
    ("/api/v1/customers", "get"),
    ("/api/v1/customer-fields", "get"),
    ("/api/v1/customers/bulk-upload", "get"),
    ("/api/v1/sessions", "get"),
    ("/api/v1/customers/{reference_id}/sessions", "get"),
    ("/api/v1/watchlists", "get"),
    ("/api/v1/customers/{reference_id}/screening-hits", "get"),
    ("/api/v1/webhooks", "get"),
    ("/api/v1/webhooks/{endpoint_id}/deliveries", "get"),
]


@pytest.mark.parametrize(("path", "method"), LIST_OPERATIONS)
def test_schema_documents_list_errors_and_parameters(schema, path, method):
    operation = schema["paths"][path][method]
    assert {"400", "401", "403", "404"} <= set(operation["responses"])
    assert "past the last page" in operation["responses"]["404"]["description"]
    assert "pageSize=0" in operation["responses"]["400"]["description"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert parameters["pageSize"]["schema"] == {"type": "integer", "minimum": 1}
    assert parameters["page"]["schema"] == {"type": "integer", "minimum": 1}
    assert parameters["cursor"]["schema"] == {"type": "string"}


def test_schema_documents_the_account_type_enum(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/customers"]["get"]["parameters"]}
    assert parameters["accountTypeId"]["schema"]["enum"] == [1, 2]
    output = schema["components"]["schemas"]["CustomerOutput"]["properties"]["accountTypeId"]
    ref = output.get("$ref") or output["allOf"][0]["$ref"]
    assert schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["enum"] == [1, 2]


# --- the key cache -------------------------------------------------------------------


def test_a_cached_key_revoked_behind_the_cache_is_refused_at_once(api):
    from organisations.models import ApiKey

    assert api.get(LIST).status_code == 200  # cached now
    # No signal, no service: only the row changes, as another process would do it.
    ApiKey.objects.filter(pk=api.api_key.pk).update(revoked_at="2025-01-01T00:00:00Z")
    response = api.get(LIST)
    assert response.status_code == 401
    assert response.json() == error(401, "Unauthorized", "Invalid or revoked API key.")


def test_a_cached_key_reads_its_scopes_on_every_request(api):
    from organisations.models import ApiKey

    assert api.delete("/api/v1/customers/NOPE").status_code == 404  # cached, may delete
    ApiKey.objects.filter(pk=api.api_key.pk).update(scopes=["kyc:read"])
    response = api.delete("/api/v1/customers/NOPE")
    assert response.status_code == 403
    assert response.json() == error(403, "Forbidden", "This API key lacks the kyc:delete scope.")


def test_a_cached_key_costs_one_light_query(api, org, django_assert_num_queries):
    CompanyFactory(organisation=org, reference_id="T")
    api.get("/api/v1/customers/T")  # caches the key, writes lastUsedAt
    # The key's state, the customer with its connection counts (no custom field values:
    # no field definitions needed).
    with django_assert_num_queries(2) as queries:
        assert api.get("/api/v1/customers/T").status_code == 200
    assert "organisations_organisation" not in queries.captured_queries[0]["sql"]


def test_the_definitions_are_read_when_a_customer_has_custom_values(
    api, org, django_assert_num_queries
):
    CompanyFactory(organisation=org, reference_id="T", custom_fields={"segment": "x"})
    api.get("/api/v1/customers/T")
    with django_assert_num_queries(3):
        assert api.get("/api/v1/customers/T").status_code == 200
