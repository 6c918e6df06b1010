"""Customer field definitions (seed 001) and typed custom field values."""

import pytest

from customers.models import Customer, CustomerFieldDefinition
from tests.factories import FieldDefinitionFactory, PersonFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/customer-fields"
CUSTOMERS = "/api/v1/customers"


def error(status, message, **extra):
    reasons = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
    return {"message": message, "error": reasons[status], "statusCode": status, **extra}


def test_create_field(api):
    body = {
        "key": "riskClass",
        "name": "Risk class",
        "type": "choice",
        "required": True,
        "choices": ["A", "B"],
    }
    response = api.post(URL, body, format="json")
    assert response.status_code == 201
    payload = response.json()
    assert payload["message"] == "Customer field created successfully"
    data = payload["data"]
    assert {k: data[k] for k in ("key", "name", "type", "required", "choices")} == body
    assert data["createdAt"].endswith("Z")
    definition = CustomerFieldDefinition.objects.get()
    assert definition.field_type == "choice" and definition.required


def test_create_field_defaults_to_optional_text(api):
    response = api.post(URL, {"key": "bvn", "name": "BVN"}, format="json")
    assert response.status_code == 201
    assert response.json()["data"]["type"] == "text"
    assert response.json()["data"]["required"] is False
    assert response.json()["data"]["choices"] == []


def test_duplicate_key(api, org):
    FieldDefinitionFactory(organisation=org, key="phone")
    response = api.post(URL, {"key": "phone", "name": "Phone"}, format="json")
    assert response.status_code == 400
    assert response.json() == error(400, "A field with key phone already exists")


def test_same_key_in_another_organisation_is_fine(api, other_org):
    FieldDefinitionFactory(organisation=other_org, key="phone")
    assert api.post(URL, {"key": "phone", "name": "Phone"}, format="json").status_code == 201


KEY_MESSAGE = (
    "Must start with a letter and hold only letters, digits and underscores "
    "(at most 64 characters)."
)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"key": "1abc", "name": "X"}, "key", KEY_MESSAGE),
        ({"key": "a-b", "name": "X"}, "key", KEY_MESSAGE),
        ({"key": "a" * 65, "name": "X"}, "key", "At most 64 characters allowed (got 65)."),
        (
            {"key": "name", "name": "X"},
            "key",
            "'name' is reserved: accountTypeId, connects, externalId, identity, name, profile, "
            "referenceId cannot be field keys.",
        ),
        ({"key": "k", "name": ""}, "name", "This field is required: a display name."),
        (
            {"key": "k", "name": "X", "type": "colour"},
            "type",
            "Must be one of: text, number, date, boolean, choice.",
        ),
        (
            {"key": "k", "name": "X", "type": "choice"},
            "choices",
            "A choice field needs a non-empty list of strings.",
        ),
        (
            {"key": "k", "name": "X", "type": "choice", "choices": []},
            "choices",
            "A choice field needs a non-empty list of strings.",
        ),
        (
            {"key": "k", "name": "X", "type": "choice", "choices": ["a", "a"]},
            "choices",
            "Choices must be unique; repeated: a.",
        ),
        (
            {"key": "k", "name": "X", "type": "choice", "choices": ["a", 1]},
            "choices",
            "Every choice must be a non-empty string.",
        ),
        (
            {"key": "k", "name": "X", "type": "text", "choices": ["a"]},
            "choices",
            "Only fields of type choice have choices.",
        ),
        ({"key": "k", "name": "X", "required": "yes"}, "required", "Must be true or false."),
    ],
)
def test_create_field_errors(api, body, field, message):
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == error(400, f"{field}: {message}", errors={field: [message]})
    assert not CustomerFieldDefinition.objects.exists()


def test_several_field_errors_read_as_sentences(api):
    response = api.post(URL, {"key": "1abc", "name": "", "required": "yes"}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == (
        f"key: {KEY_MESSAGE} name: This field is required: a display name. "
        "required: Must be true or false."
    )
    assert not CustomerFieldDefinition.objects.exists()


def test_list_fields(api, org, other_org):
    for key in ("b", "a", "c"):
        FieldDefinitionFactory(organisation=org, key=key)
    FieldDefinitionFactory(organisation=other_org, key="theirs")
    response = api.get(URL)
    assert response.status_code == 200
    assert response.json()["message"] == "Customer fields fetched successfully"
    assert [f["key"] for f in response.json()["data"]] == ["a", "b", "c"]
    assert response.json()["meta"]["totalElements"] == 3


def test_get_field(api, org):
    FieldDefinitionFactory(organisation=org, key="bvn", name="BVN")
    response = api.get(f"{URL}/bvn")
    assert response.status_code == 200
    assert response.json()["message"] == "Customer field fetched successfully"
    assert response.json()["data"]["name"] == "BVN"


def test_patch_field(api, org):
    FieldDefinitionFactory(organisation=org, key="tier", field_type="choice", choices=["a"])
    response = api.patch(
        f"{URL}/tier", {"name": "Tier", "required": True, "choices": ["a", "b"]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["message"] == "Customer field updated successfully"
    data = response.json()["data"]
    assert (data["name"], data["required"], data["choices"]) == ("Tier", True, ["a", "b"])


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"key": "other"}, "key", "Cannot be changed: stored values are keyed by it."),
        ({"type": "number"}, "type", "Cannot be changed: stored values are typed by it."),
    ],
)
def test_patch_field_immutable(api, org, body, field, message):
    FieldDefinitionFactory(organisation=org, key="bvn")
    response = api.patch(f"{URL}/bvn", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {field: [message]}


def test_delete_field_keeps_values_but_hides_them(api, org):
    FieldDefinitionFactory(organisation=org, key="bvn")
    customer = PersonFactory(organisation=org, reference_id="P1", custom_fields={"bvn": "1"})
    response = api.delete(f"{URL}/bvn")
    assert response.status_code == 200
    assert response.json()["message"] == "Customer field deleted successfully"
    assert not CustomerFieldDefinition.objects.exists()
    customer.refresh_from_db()
    assert customer.custom_fields == {"bvn": "1"}
    assert api.get(f"{CUSTOMERS}/P1").json()["data"]["customFields"] == {}


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_unknown_field_404(api, method):
    response = getattr(api, method)(f"{URL}/nope", {}, format="json")
    assert response.status_code == 404
    assert response.json() == error(404, "Customer field not found")


@pytest.mark.parametrize(
    ("method", "body"), [("get", None), ("patch", {"name": "Hijack"}), ("delete", None)]
)
def test_outsider_gets_404_on_fields(outsider_api, org, method, body):
    FieldDefinitionFactory(organisation=org, key="bvn", name="BVN")
    response = getattr(outsider_api, method)(f"{URL}/bvn", body, format="json")
    assert response.status_code == 404
    assert response.json() == error(404, "Customer field not found")
    assert CustomerFieldDefinition.objects.get().name == "BVN"


def test_outsider_list_does_not_see_fields(outsider_api, org):
    FieldDefinitionFactory(organisation=org, key="bvn")
    assert outsider_api.get(URL).json()["data"] == []


@pytest.mark.parametrize(
    ("method", "path", "body", "scope"),
    [
        ("post", URL, {"key": "x", "name": "X"}, "kyc:create"),
        ("patch", f"{URL}/bvn", {"name": "X"}, "kyc:create"),
        ("delete", f"{URL}/bvn", None, "kyc:delete"),
    ],
)
def test_readonly_cannot_write_fields(readonly_api, org, method, path, body, scope):
    FieldDefinitionFactory(organisation=org, key="bvn", name="BVN")
    response = getattr(readonly_api, method)(path, body, format="json")
    assert response.status_code == 403
    assert response.json() == error(403, f"This API key lacks the {scope} scope.")
    assert list(CustomerFieldDefinition.objects.values_list("key", "name")) == [("bvn", "BVN")]


@pytest.mark.parametrize("method", ["get", "post"])
def test_fields_need_a_key(anon_api, method):
    assert getattr(anon_api, method)(URL, {}, format="json").status_code == 401


def test_field_writes_leave_api_history(api):
    api.post(URL, {"key": "bvn", "name": "BVN"}, format="json")
    definition = CustomerFieldDefinition.objects.get()
    api.patch(f"{URL}/bvn", {"name": "Bank verification number"}, format="json")
    api.delete(f"{URL}/bvn")
    records = list(CustomerFieldDefinition.history.filter(id=definition.id).order_by("history_id"))
    assert [r.history_type for r in records] == ["+", "~", "-"]
    for record in records:
        assert record.history_channel == "api"
        assert record.history_api_key_id == api.api_key.id


# --- typed values --------------------------------------------------------------------


def _post(api, **fields):
    body = {"name": "A", "referenceId": "P1", "accountTypeId": 1, **fields}
    return api.post(CUSTOMERS, body, format="json")


@pytest.mark.parametrize(
    ("field_type", "choices", "sent", "stored"),
    [
        ("text", [], "hello", "hello"),
        ("text", [], 12345, "12345"),
        ("number", [], 12, 12),
        ("number", [], 12.5, 12.5),
        ("number", [], "12.50", 12.5),
        ("number", [], "-3", -3),
        ("number", [], 4.0, 4),
        ("date", [], "2024-02-29", "2024-02-29"),
        ("boolean", [], True, True),
        ("boolean", [], "false", False),
        ("boolean", [], "TRUE", True),
        ("choice", ["gold", "silver"], "gold", "gold"),
    ],
)
def test_typed_values_stored(api, org, field_type, choices, sent, stored):
    FieldDefinitionFactory(organisation=org, key="f", field_type=field_type, choices=choices)
    response = _post(api, f=sent)
    assert response.status_code == 201, response.json()
    value = Customer.objects.get().custom_fields["f"]
    assert value == stored and type(value) is type(stored)
    assert response.json()["data"]["customFields"] == {"f": stored}


NUMBER = 'Must be a number (a JSON number or a decimal string such as "12.5").'


@pytest.mark.parametrize(
    ("field_type", "choices", "sent", "message"),
    [
        ("text", [], "x" * 1001, "At most 1000 characters allowed (got 1001)."),
        ("text", [], True, "Must be a string or an integer, not a boolean."),
        ("text", [], [1], "Must be a string or an integer, not an array."),
        ("number", [], True, NUMBER),
        ("number", [], "12abc", NUMBER),
        ("number", [], "NaN", NUMBER),
        ("number", [], "\u0661\u0660", NUMBER),  # Arabic-Indic digits: ASCII digits only
        ("number", [], "\uff11\uff10", NUMBER),
        ("number", [], "1e400", "Must be a finite number."),
        ("number", [], 2**60, "Must be between -9007199254740991 and 9007199254740991."),
        ("number", [], {"v": 1}, NUMBER),
        ("date", [], "2024-02-30", "'2024-02-30' is not a valid calendar date."),
        ("date", [], "30/01/2024", "Must be a date in YYYY-MM-DD format."),
        ("date", [], 20240101, "Must be a date in YYYY-MM-DD format."),
        ("date", [], "\u0662\u0660\u0662\u0664-01-01", "Must be a date in YYYY-MM-DD format."),
        ("date", [], "2024-01-01\n", "Must be a date in YYYY-MM-DD format."),
        ("boolean", [], 1, "Must be true or false."),
        ("boolean", [], "yes", "Must be true or false."),
        ("choice", ["gold", "silver"], "bronze", "Must be one of: gold, silver."),
        ("choice", ["gold", "silver"], 1, "Must be one of: gold, silver."),
    ],
)
def test_typed_value_errors(api, org, field_type, choices, sent, message):
    FieldDefinitionFactory(organisation=org, key="f", field_type=field_type, choices=choices)
    response = _post(api, f=sent)
    assert response.status_code == 400
    assert response.json() == error(400, f"f: {message}", errors={"f": [message]})
    assert not Customer.objects.exists()


def test_required_field_missing_on_create(api, org):
    FieldDefinitionFactory(organisation=org, key="bvn", name="BVN", required=True)
    response = _post(api)
    assert response.status_code == 400
    assert response.json()["errors"] == {"bvn": ["This field is required (BVN)."]}


def test_required_field_kept_from_stored_value_on_post_update(api, org):
    FieldDefinitionFactory(organisation=org, key="bvn", name="BVN", required=True)
    PersonFactory(organisation=org, reference_id="P1", custom_fields={"bvn": "1"})
    assert _post(api).status_code == 200


def test_null_removes_a_value(api, org):
    FieldDefinitionFactory(organisation=org, key="bvn")
    PersonFactory(organisation=org, reference_id="P1", custom_fields={"bvn": "1"})
    assert api.patch(f"{CUSTOMERS}/P1", {"bvn": None}, format="json").status_code == 200
    assert Customer.objects.get().custom_fields == {}


def test_a_text_field_takes_null_choices_as_none_and_the_schema_says_so(api):
    response = api.post(
        URL, {"key": "tier", "name": "Tier", "type": "text", "choices": None}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["data"]["choices"] == []
    schema = api.get("/api/v1/schema/?format=json").json()
    choices = schema["components"]["schemas"]["FieldDefinitionInputRequest"]["properties"][
        "choices"
    ]
    assert choices["nullable"] is True
