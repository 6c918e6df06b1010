"""The customer endpoints: messages, shapes, tenancy and scopes."""

import pytest

from customers.models import Customer, CustomerStatus
from tests.factories import CompanyFactory, FieldDefinitionFactory, PersonFactory
from tests.markers import postgres_behaviour, sqlite_behaviour

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers"

PERSON_IDENTITY = {
    "type": "individual",
    "givenName": "Canay",
    "familyName": "Özel",
    "birthDate": "1987-01-01",
    "country": "TR",
    "identifications": [
        {
            "type": "identity-card",
            "identificationNumber": "12345678",
            "issuingCountry": "TR",
            "issueDate": "2022-01-01",
            "expirationDate": "2023-01-01",
        }
    ],
}
PERSON_PROFILE = {
    "identityType": "individual",
    "residentialAddress": {
        "country": "GB",
        "region": "England",
        "city": "London",
        "street": "Baker Street",
        "houseNumber": "221B",
        "postalCode": "XYZ ABC",
        "refinement": "",
    },
    "phone": "+441234567890",
    "email": "canay@example.com",
}


def error(status: int, message: str, **extra):
    reasons = {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
    }
    return {"message": message, "error": reasons[status], "statusCode": status, **extra}


def test_create_seed_001_payload(api, org):
    FieldDefinitionFactory(organisation=org, key="phone", name="Phone")
    FieldDefinitionFactory(organisation=org, key="bvn", name="BVN")
    body = {
        "name": "Sylvernus Akubo",
        "referenceId": "550",
        "accountTypeId": 1,
        "externalId": "456",
        "phone": "08012345678",
        "bvn": "22012345678",
    }
    response = api.post(URL, body, format="json")
    assert response.status_code == 201
    payload = response.json()
    assert payload["status"] == 201
    assert payload["message"] == "Customers created successfully"
    assert payload["code"] == "info"
    data = payload["data"]
    customer = Customer.objects.get()
    assert data["id"] == customer.id
    assert data["referenceId"] == "550"
    assert data["name"] == "Sylvernus Akubo"
    assert data["accountTypeId"] == 1
    assert data["externalId"] == "456"
    assert data["status"] == "active"
    assert data["organizationId"] == str(org.id)
    assert len(data["clientNumber"]) == 8 and data["clientNumber"].isdigit()
    # Scored at creation with the shipped risk rules (kyc.rules): a person scores 0.
    assert data["riskScore"] == 0 and data["riskScoreName"] == "Low risk"
    assert data["lastIpAddress"] is None and data["lastScreeningDate"] is None
    assert data["createdAt"].endswith("Z") and len(data["createdAt"]) == 24
    assert data["customFields"] == {"bvn": "22012345678", "phone": "08012345678"}
    assert data["customerMappedField"] == [
        {"value": "22012345678", "CustomerFieldDefinition": {"name": "BVN", "key": "bvn"}},
        {"value": "08012345678", "CustomerFieldDefinition": {"name": "Phone", "key": "phone"}},
    ]
    assert data["ignoredFields"] == []
    assert customer.custom_fields == {"phone": "08012345678", "bvn": "22012345678"}


def test_post_existing_reference_updates(api, org):
    PersonFactory(organisation=org, reference_id="550", name="Old Name")
    response = api.post(
        URL, {"name": "New Name", "referenceId": "550", "accountTypeId": 1}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["message"] == "Customer updated successfully"
    assert response.json()["data"]["name"] == "New Name"
    assert Customer.objects.get().name == "New Name"


def test_an_update_by_upsert_costs_eight_statements(api, org, django_assert_num_queries):
    """The key's state; the field definitions; in one transaction the customer locked,
    its UPDATE, its history row and the webhook endpoints (none: nothing written)."""
    PersonFactory(organisation=org, reference_id="550", name="Old Name")
    api.get(URL)  # the key is cached, its lastUsedAt written
    body = {"name": "New Name", "referenceId": "550", "accountTypeId": 1}
    # In a test the transaction is a savepoint of the test's: SAVEPOINT ... RELEASE.
    with django_assert_num_queries(8) as queries:
        assert api.post(URL, body, format="json").status_code == 200
    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    written = ["SELECT", "UPDATE", "INSERT", "SELECT"]  # lock, row, history, endpoints
    assert statements == ["SELECT", "SELECT", "SAVEPOINT", *written, "RELEASE"]


def test_post_seed_004_identity_and_profile(api):
    body = {
        "referenceId": "TR-1",
        "accountTypeId": 1,
        "identity": PERSON_IDENTITY,
        "profile": PERSON_PROFILE,
    }
    response = api.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["name"] == "Canay Özel"  # derived from the identity
    assert data["fullName"] == "Canay Özel"
    assert data["identity"] == PERSON_IDENTITY
    assert data["profile"] == {
        **PERSON_PROFILE,
        "residentialAddress": PERSON_PROFILE["residentialAddress"],
    }


def test_company_registration_address(api):
    body = {
        "name": "I.F Technology Ltd",
        "referenceId": "IF-1",
        "accountTypeId": 2,
        "identity": {
            "type": "corporate",
            "legalName": "I.F Technology Ltd",
            "country": "GB",
            "incorporationDate": "1987-01-01",
            "corporationType": "ltd",
        },
        "profile": {
            "identityType": "corporate",
            "registrationAddress": {"country": "US", "region": "CA", "city": "LA"},
        },
    }
    response = api.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["identity"] == {
        "type": "corporate",
        "legalName": "I.F Technology Ltd",
        "incorporationDate": "1987-01-01",
        "corporationType": "ltd",
        "country": "GB",
        "identifications": [],
    }
    assert data["profile"]["identityType"] == "corporate"
    assert data["profile"]["registrationAddress"] == {
        "country": "US",
        "region": "US-CA",
        "city": "LA",
    }
    assert "residentialAddress" not in data["profile"]


def test_if_none_match_creates_once_then_409(api):
    body = {"name": "A", "referenceId": "550", "accountTypeId": 1}
    first = api.post(URL, body, format="json", HTTP_IF_NONE_MATCH="*")
    assert first.status_code == 201
    second = api.post(URL, {**body, "name": "B"}, format="json", HTTP_IF_NONE_MATCH="*")
    assert second.status_code == 409
    assert second.json() == error(409, "Customer with referenceId 550 already exists")
    assert Customer.objects.get().name == "A"


def test_unknown_keys_are_ignored_and_listed(api, org):
    FieldDefinitionFactory(organisation=org, key="bvn")
    body = {"name": "A", "referenceId": "1", "accountTypeId": 1, "bvn": "1", "colour": "red"}
    response = api.post(URL, body, format="json")
    assert response.status_code == 201
    assert response.json()["data"]["ignoredFields"] == ["colour"]
    assert Customer.objects.get().custom_fields == {"bvn": "1"}


def test_unknown_keys_refused_when_the_organisation_says_so(api, org):
    org.reject_unknown_fields = True
    org.save()
    body = {"name": "A", "referenceId": "1", "accountTypeId": 1, "colour": "red"}
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    message = (
        "Unknown field: no customer field has this key. Define it under "
        "/api/v1/customer-fields or leave it out."
    )
    assert response.json() == error(400, f"colour: {message}", errors={"colour": [message]})
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"referenceId": "1", "accountTypeId": 1}, "name", "This field is required."),
        ({"name": "A", "accountTypeId": 1}, "referenceId", "This field is required."),
        (
            {"name": "A", "referenceId": "  ", "accountTypeId": 1},
            "referenceId",
            "Must not be blank.",
        ),
        (
            {"name": "A", "referenceId": "a/b", "accountTypeId": 1},
            "referenceId",
            "Must not contain '/'.",
        ),
        (
            {"name": "A", "referenceId": "1"},
            "accountTypeId",
            "This field is required: 1 (Person) or 2 (Company).",
        ),
        (
            {"name": "A", "referenceId": "1", "accountTypeId": 3},
            "accountTypeId",
            "Must be 1 (Person) or 2 (Company).",
        ),
        (
            {"name": "A", "referenceId": "1", "accountTypeId": True},
            "accountTypeId",
            "Must be 1 (Person) or 2 (Company).",
        ),
        (
            {"name": 5, "referenceId": "1", "accountTypeId": 1},
            "name",
            "Must be a string, not a number.",
        ),
        (
            {"name": "A", "referenceId": ["1"], "accountTypeId": 1},
            "referenceId",
            "Must be a string or an integer, not an array.",
        ),
        (
            {"name": "A", "referenceId": "1", "accountTypeId": 1, "externalId": {"a": 1}},
            "externalId",
            "Must be a string or an integer, not an object.",
        ),
    ],
)
def test_create_field_errors(api, body, field, message):
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == error(400, f"{field}: {message}", errors={field: [message]})
    assert not Customer.objects.exists()


def test_reference_id_may_be_an_integer(api):
    response = api.post(URL, {"name": "A", "referenceId": 550, "accountTypeId": 1}, format="json")
    assert response.status_code == 201
    assert response.json()["data"]["referenceId"] == "550"


def test_account_type_cannot_change(api, org):
    PersonFactory(organisation=org, reference_id="550")
    response = api.post(URL, {"name": "A", "referenceId": "550", "accountTypeId": 2}, format="json")
    message = "Cannot be changed after creation: this customer is a Person (1)."
    assert response.status_code == 400
    assert response.json()["errors"] == {"accountTypeId": [message]}


def test_list_paginates_with_meta(api, org):
    for _ in range(3):
        PersonFactory(organisation=org)
    response = api.get(URL, {"pageSize": 2})
    assert response.status_code == 200
    payload = response.json()
    assert payload["message"] == "Customers fetched successfully"
    assert payload["meta"] == {"page": 1, "pageSize": 2, "totalElements": 3, "totalPages": 2}
    assert len(payload["data"]) == 2
    second = api.get(URL, {"pageSize": 2, "page": 2}).json()
    assert len(second["data"]) == 1
    ids = {c["id"] for c in payload["data"]} | {c["id"] for c in second["data"]}
    assert len(ids) == 3


# The default list is compiled once (customers.selectors.DEFAULT_LIST); a filtered one
# is a queryset: both are counted alike.
DEFAULT_OR_FILTERED = pytest.mark.parametrize(
    "filters", [{}, {"accountTypeId": 1}], ids=["default", "filtered"]
)


@pytest.fixture
def five_over_a_limit_of_three(org, settings):
    settings.KYC_EXACT_COUNT_LIMIT = 3
    return [PersonFactory(organisation=org).pk for _ in range(5)]


@DEFAULT_OR_FILTERED
def test_count_up_to_the_limit_is_exact(api, org, settings, filters):
    settings.KYC_EXACT_COUNT_LIMIT = 3
    for _ in range(3):
        PersonFactory(organisation=org)
    meta = api.get(URL, {"pageSize": 2, **filters}).json()["meta"]
    assert meta == {"page": 1, "pageSize": 2, "totalElements": 3, "totalPages": 2}


@sqlite_behaviour
@DEFAULT_OR_FILTERED
def test_sqlite_counts_past_the_limit_exactly(api, five_over_a_limit_of_three, filters):
    meta = api.get(URL, {"pageSize": 2, **filters}).json()["meta"]
    assert meta == {"page": 1, "pageSize": 2, "totalElements": 5, "totalPages": 3}
    assert api.get(URL, {"pageSize": 2, "page": 4, **filters}).status_code == 404


@postgres_behaviour
@DEFAULT_OR_FILTERED
def test_postgresql_estimates_past_the_limit_and_says_so(api, five_over_a_limit_of_three, filters):
    meta = api.get(URL, {"pageSize": 2, **filters}).json()["meta"]
    assert meta["totalElementsExact"] is False
    assert meta["totalElements"] >= 4  # the planner's figure, never below the limit + 1
    # Every page is served, whatever the estimate says: nothing is out of reach.
    pages = [
        api.get(URL, {"pageSize": 2, "page": n, **filters}).json()["data"] for n in (1, 2, 3, 4)
    ]
    assert [len(page) for page in pages] == [2, 2, 1, 0]
    assert sorted(c["id"] for page in pages for c in page) == sorted(five_over_a_limit_of_three)


def test_page_size_capped_at_100(api, org):
    PersonFactory(organisation=org)
    meta = api.get(URL, {"pageSize": 1000}).json()["meta"]
    assert meta["pageSize"] == 100


def test_list_excludes_other_organisations(api, org, other_org):
    mine = PersonFactory(organisation=org)
    PersonFactory(organisation=other_org)
    data = api.get(URL).json()["data"]
    assert [c["referenceId"] for c in data] == [mine.reference_id]


def test_detail_with_connection_counts(api, org):
    from tests.factories import ConnectionFactory

    company = CompanyFactory(organisation=org, reference_id="COMP-001")
    people = [PersonFactory(organisation=org) for _ in range(3)]
    ConnectionFactory(customer=company, connected_customer=people[0], role="DIRECTOR")
    ConnectionFactory(customer=company, connected_customer=people[1], role="DIRECTOR")
    ConnectionFactory(customer=company, connected_customer=people[2], role="UBO")
    holding = CompanyFactory(organisation=org)
    ConnectionFactory(customer=holding, connected_customer=company, role="SHAREHOLDER")
    response = api.get(f"{URL}/COMP-001")
    assert response.status_code == 200
    assert response.json()["message"] == "Customer fetched successfully"
    assert response.json()["data"]["connectionCounts"] == {
        "total": 3,
        "byRole": {"DIRECTOR": 2, "UBO": 1},
        "heldTotal": 1,
        "heldByRole": {"SHAREHOLDER": 1},
    }


def test_reference_with_dots_and_dashes(api, org):
    PersonFactory(organisation=org, reference_id="a.b-c_d")
    response = api.get(f"{URL}/a.b-c_d")
    assert response.status_code == 200
    assert response.json()["data"]["referenceId"] == "a.b-c_d"


def test_trailing_slash_accepted(api, org):
    PersonFactory(organisation=org, reference_id="X1")
    assert api.get(f"{URL}/").status_code == 200
    assert api.get(f"{URL}/X1/").status_code == 200


def test_detail_unknown_404(api):
    response = api.get(f"{URL}/nope")
    assert response.status_code == 404
    assert response.json() == error(404, "Customer not found")


def test_patch_merges_nested_objects(api, org):
    api.post(
        URL,
        {
            "referenceId": "TR-1",
            "accountTypeId": 1,
            "identity": PERSON_IDENTITY,
            "profile": PERSON_PROFILE,
        },
        format="json",
    )
    response = api.patch(
        f"{URL}/TR-1",
        {
            "identity": {"givenName": "Michael", "birthDate": "1953-01-06"},
            "profile": {"phone": "+4412345678", "residentialAddress": {"postalCode": "EC1Y 1AA"}},
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["message"] == "Customer updated successfully"
    data = response.json()["data"]
    assert data["identity"]["givenName"] == "Michael"
    assert data["identity"]["familyName"] == "Özel"
    assert data["identity"]["birthDate"] == "1953-01-06"
    assert data["identity"]["identifications"] == PERSON_IDENTITY["identifications"]
    assert data["profile"]["residentialAddress"] == {
        **PERSON_PROFILE["residentialAddress"],
        "postalCode": "EC1Y 1AA",
    }
    assert data["profile"]["phone"] == "+4412345678"
    assert data["profile"]["email"] == "canay@example.com"
    assert data["name"] == "Canay Özel"  # PATCH does not re-derive the name


def test_patch_null_clears_optional_values(api, org):
    customer = PersonFactory(organisation=org, reference_id="P1", email="a@b.co", external_id="9")
    response = api.patch(
        f"{URL}/P1", {"profile": {"email": None}, "externalId": None}, format="json"
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.email == "" and customer.external_id == ""


def test_patch_custom_fields_merge(api, org):
    FieldDefinitionFactory(organisation=org, key="a")
    FieldDefinitionFactory(organisation=org, key="b")
    customer = PersonFactory(organisation=org, reference_id="P1", custom_fields={"a": "1"})
    response = api.patch(f"{URL}/P1", {"b": "2"}, format="json")
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.custom_fields == {"a": "1", "b": "2"}


def test_patch_does_not_require_required_fields(api, org):
    FieldDefinitionFactory(organisation=org, key="bvn", required=True)
    PersonFactory(organisation=org, reference_id="P1")
    response = api.patch(f"{URL}/P1", {"name": "Renamed"}, format="json")
    assert response.status_code == 200


def test_patch_refuses_reference_change(api, org):
    PersonFactory(organisation=org, reference_id="P1")
    response = api.patch(f"{URL}/P1", {"referenceId": "P2"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "referenceId": ["Cannot be changed: it identifies the customer."]
    }


def test_patch_unknown_404(api):
    response = api.patch(f"{URL}/nope", {"name": "x"}, format="json")
    assert response.status_code == 404
    assert response.json() == error(404, "Customer not found")


def test_delete_deactivates_and_stays_readable(api, org):
    customer = PersonFactory(organisation=org, reference_id="P1")
    response = api.delete(f"{URL}/P1")
    assert response.status_code == 200
    assert response.json()["message"] == "Customer deactivated successfully"
    assert response.json()["data"]["status"] == "inactive"
    customer.refresh_from_db()
    assert customer.status == CustomerStatus.INACTIVE
    assert api.get(f"{URL}/P1").status_code == 200
    assert api.get(URL).json()["data"] == []
    assert [c["referenceId"] for c in api.get(URL, {"status": "inactive"}).json()["data"]] == ["P1"]
    again = api.delete(f"{URL}/P1")
    assert again.status_code == 200
    assert customer.history.count() == 2  # created, deactivated once


def test_delete_unknown_404(api):
    response = api.delete(f"{URL}/nope")
    assert response.status_code == 404
    assert response.json() == error(404, "Customer not found")


# --- tenancy and scopes ---------------------------------------------------------------


DETAIL_CALLS = [
    ("get", None),
    ("patch", {"name": "Hijack"}),
    ("delete", None),
]


@pytest.mark.parametrize(("method", "body"), DETAIL_CALLS)
def test_outsider_gets_404_on_detail(outsider_api, org, method, body):
    customer = PersonFactory(organisation=org, reference_id="P1", name="Mine")
    response = getattr(outsider_api, method)(f"{URL}/P1", body, format="json")
    assert response.status_code == 404
    assert response.json() == error(404, "Customer not found")
    customer.refresh_from_db()
    assert customer.name == "Mine" and customer.status == "active"


def test_outsider_post_same_reference_creates_its_own(outsider_api, org, other_org):
    PersonFactory(organisation=org, reference_id="P1", name="Mine")
    response = outsider_api.post(
        URL, {"name": "Theirs", "referenceId": "P1", "accountTypeId": 1}, format="json"
    )
    assert response.status_code == 201
    assert Customer.objects.get(organisation=org).name == "Mine"
    assert Customer.objects.get(organisation=other_org).name == "Theirs"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", URL, {"name": "A", "referenceId": "1", "accountTypeId": 1}),
        ("patch", f"{URL}/P1", {"name": "x"}),
    ],
)
def test_readonly_key_cannot_write(readonly_api, org, method, path, body):
    PersonFactory(organisation=org, reference_id="P1", name="Mine")
    response = getattr(readonly_api, method)(path, body, format="json")
    assert response.status_code == 403
    assert response.json() == error(403, "This API key lacks the kyc:create scope.")
    assert Customer.objects.get().name == "Mine"


def test_readonly_key_cannot_delete(readonly_api, org):
    PersonFactory(organisation=org, reference_id="P1")
    response = readonly_api.delete(f"{URL}/P1")
    assert response.status_code == 403
    assert response.json() == error(403, "This API key lacks the kyc:delete scope.")
    assert Customer.objects.get().status == "active"


def test_readonly_key_can_read(readonly_api, org):
    PersonFactory(organisation=org, reference_id="P1")
    assert readonly_api.get(URL).status_code == 200
    assert readonly_api.get(f"{URL}/P1").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", URL),
        ("post", URL),
        ("get", f"{URL}/P1"),
        ("patch", f"{URL}/P1"),
        ("delete", f"{URL}/P1"),
    ],
)
def test_no_key_401(anon_api, org, method, path):
    PersonFactory(organisation=org, reference_id="P1")
    response = getattr(anon_api, method)(path, {}, format="json")
    assert response.status_code == 401
    assert response.json() == error(
        401, "Authentication required. Send 'Authorization: Bearer <key>'."
    )


# --- audit history of every write ----------------------------------------------------


def _assert_api_history(record, client):
    assert record.history_channel == "api"
    assert record.history_api_key_id == client.api_key.id


def test_every_customer_write_leaves_api_history(api):
    api.post(URL, {"name": "A", "referenceId": "P1", "accountTypeId": 1}, format="json")
    customer = Customer.objects.get()
    api.post(URL, {"name": "B", "referenceId": "P1", "accountTypeId": 1}, format="json")
    api.patch(f"{URL}/P1", {"name": "C"}, format="json")
    api.delete(f"{URL}/P1")
    records = list(customer.history.order_by("history_id"))
    assert [r.history_type for r in records] == ["+", "~", "~", "~"]
    assert [r.name for r in records] == ["A", "B", "C", "C"]
    assert records[-1].status == "inactive"
    for record in records:
        _assert_api_history(record, api)


def test_unchanged_update_writes_nothing(api, org):
    body = {
        "referenceId": "TR-1",
        "accountTypeId": 1,
        "identity": PERSON_IDENTITY,
        "profile": PERSON_PROFILE,
    }
    api.post(URL, body, format="json")
    customer = Customer.objects.get()
    updated_at = customer.updated_at
    response = api.post(URL, body, format="json")
    assert response.status_code == 200
    assert (
        api.patch(f"{URL}/TR-1", {"identity": {"givenName": "Canay"}}, format="json").status_code
        == 200
    )
    customer.refresh_from_db()
    assert customer.history.count() == 1
    assert customer.updated_at == updated_at
