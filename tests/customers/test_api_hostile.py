"""Hostile and malformed bodies: a clear 4xx, and nothing written."""

import json

import pytest

from customers.models import Customer, CustomerFieldDefinition
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers"
BIG = "x" * 100_000


def _raw(client, method, path, body: str):
    return getattr(client, method)(
        path, data=body.encode("utf-8", "surrogatepass"), content_type="application/json"
    )


@pytest.mark.parametrize("method,path", [("post", URL), ("patch", f"{URL}/P1")])
def test_nul_byte_refused(api, org, method, path):
    PersonFactory(organisation=org, reference_id="P1", name="Mine")
    body = json.dumps({"name": "A\u0000B", "referenceId": "P1", "accountTypeId": 1})
    response = _raw(api, method, path, body)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "NUL character (\\u0000) is not allowed in strings (at $.name)."
    )
    assert Customer.objects.get().name == "Mine"


def test_lone_surrogate_refused(api):
    body = '{"name": "\\ud800", "referenceId": "1", "accountTypeId": 1}'
    response = _raw(api, "post", URL, body)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "Invalid Unicode (lone surrogate) in a string (at $.name)."
    )
    assert not Customer.objects.exists()


def test_nan_refused(api):
    body = '{"name": "A", "referenceId": "1", "accountTypeId": NaN}'
    response = _raw(api, "post", URL, body)
    assert response.status_code == 400
    assert response.json()["message"].startswith("JSON parse error")
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("field", "body", "limit"),
    [
        ("name", {"name": BIG, "referenceId": "1", "accountTypeId": 1}, 255),
        ("referenceId", {"name": "A", "referenceId": BIG, "accountTypeId": 1}, 128),
        (
            "externalId",
            {"name": "A", "referenceId": "1", "accountTypeId": 1, "externalId": BIG},
            128,
        ),
        (
            "identity.givenName",
            {
                "name": "A",
                "referenceId": "1",
                "accountTypeId": 1,
                "identity": {"givenName": BIG, "familyName": "B"},
            },
            255,
        ),
        (
            "profile.residentialAddress.city",
            {
                "name": "A",
                "referenceId": "1",
                "accountTypeId": 1,
                "profile": {"residentialAddress": {"city": BIG}},
            },
            255,
        ),
        (
            "profile.email",
            {"name": "A", "referenceId": "1", "accountTypeId": 1, "profile": {"email": BIG}},
            254,
        ),
        (
            "profile.phone",
            {"name": "A", "referenceId": "1", "accountTypeId": 1, "profile": {"phone": BIG}},
            64,
        ),
        (
            "identity.identifications[0].identificationNumber",
            {
                "name": "A",
                "referenceId": "1",
                "accountTypeId": 1,
                "identity": {
                    "givenName": "A",
                    "familyName": "B",
                    "identifications": [{"type": "passport", "identificationNumber": BIG}],
                },
            },
            128,
        ),
    ],
)
def test_huge_strings_refused_with_field_and_limit(api, field, body, limit):
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    message = f"At most {limit} characters allowed (got 100000)."
    assert response.json()["errors"] == {field: [message]}
    assert response.json()["message"] == f"{field}: {message}"
    assert not Customer.objects.exists()


def test_huge_unknown_key_refused(api):
    response = api.post(
        URL, {"name": "A", "referenceId": "1", "accountTypeId": 1, BIG: 1}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"x" * 64 + "…": ["Field keys are at most 64 characters."]}
    assert not Customer.objects.exists()


@pytest.mark.parametrize("body", ["[]", '[{"name": "A"}]', '"text"', "42", "null"])
def test_non_object_bodies(api, body):
    response = _raw(api, "post", URL, body)
    assert response.status_code == 400
    assert response.json()["message"].startswith("Request body must be a JSON object")
    assert not Customer.objects.exists()


def test_array_body_on_patch_and_fields(api, org):
    PersonFactory(organisation=org, reference_id="P1")
    assert _raw(api, "patch", f"{URL}/P1", "[]").json()["message"] == (
        "Request body must be a JSON object, not an array."
    )
    assert _raw(api, "post", "/api/v1/customer-fields", "[1]").json()["message"] == (
        "Request body must be a JSON object, not an array."
    )
    assert not CustomerFieldDefinition.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"identity": "x"}, "identity", "Must be an object, not a string."),
        ({"profile": []}, "profile", "Must be an object, not an array."),
        (
            {"identity": {"givenName": 1, "familyName": "B"}},
            "identity.givenName",
            "Must be a string, not a number.",
        ),
        (
            {"identity": {"givenName": "A", "familyName": "B", "identifications": {}}},
            "identity.identifications",
            "Must be an array of objects, not an object.",
        ),
        (
            {"profile": {"residentialAddress": "Baker Street"}},
            "profile.residentialAddress",
            "Must be an object, not a string.",
        ),
    ],
)
def test_wrong_types_in_nested_objects(api, body, field, message):
    response = api.post(
        URL, {"name": "A", "referenceId": "1", "accountTypeId": 1, **body}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {field: [message]}
    assert not Customer.objects.exists()


def test_form_encoded_body_is_415(api):
    response = api.post(URL, {"name": "A"})  # multipart
    assert response.status_code == 415
    assert not Customer.objects.exists()


@pytest.mark.parametrize("size", ["many", "0", "-3", "²", "1e3", ""])
def test_bad_page_size(api, size):
    response = api.get(URL, {"pageSize": size})
    assert response.status_code == 400
    assert response.json()["message"] == "pageSize: Must be a positive integer."


@pytest.mark.parametrize("page", ["abc", "0", "last", "1.5"])
def test_bad_page(api, page):
    response = api.get(URL, {"page": page})
    assert response.status_code == 400
    assert response.json()["message"] == "page: Must be a positive integer."


def test_page_past_the_end_is_404(api, org):
    PersonFactory(organisation=org)
    assert api.get(URL, {"page": 1}).status_code == 200
    response = api.get(URL, {"page": 2})
    assert response.status_code == 404
    assert response.json() == {
        "message": "Invalid page: past the last page.",
        "error": "Not Found",
        "statusCode": 404,
    }
