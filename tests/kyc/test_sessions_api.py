"""POST/GET/PATCH /sessions and GET /customers/{referenceId}/sessions."""

import pytest

from customers.models import Customer
from kyc.models import Session, SessionStatus
from tests.factories import PersonFactory
from tests.kyc.factories import SessionFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/sessions"


@pytest.fixture
def alice(org):
    return PersonFactory(organisation=org, reference_id="ALICE", name="Alice Smith")


def create(api, **body):
    return api.post(URL, body, format="json")


def test_create_for_an_existing_customer(api, alice):
    response = create(
        api,
        customerId="ALICE",
        ipAddress="203.0.113.7",
        userAgent="Mozilla/5.0",
        workflow="onboarding-v2",
        checks=[{"type": "document", "status": "approved", "reason": "Passport OK"}],
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["message"], body["code"]) == (
        201,
        "Session created successfully",
        "info",
    )
    data = body["data"]
    session = Session.objects.get()
    assert data == {
        "id": str(session.public_id),
        "customerReferenceId": "ALICE",
        "status": "created",
        "ipAddress": "203.0.113.7",
        "userAgent": "Mozilla/5.0",
        "workflow": "onboarding-v2",
        "checks": [{"type": "document", "status": "approved", "reason": "Passport OK"}],
        "customerCreated": False,
        "createdAt": data["createdAt"],
        "updatedAt": data["updatedAt"],
        "completedAt": None,
    }
    assert data["createdAt"].endswith("Z")
    customer = api.get("/api/v1/customers/ALICE").json()["data"]
    assert customer["lastIpAddress"] == "203.0.113.7"
    assert customer["lastUserAgent"] == customer["usualUserAgent"] == "Mozilla/5.0"
    # The shipped defaults: a session, none approved (10)
    assert customer["riskScore"] == 10 and customer["riskScoreName"] == "Low risk"
    assert session.history.get().history_channel == "api"


def test_client_id_creates_the_customer_then_reuses_it(api, org):
    first = create(
        api,
        clientId="NEW-1",
        customer={"name": "Nova Ltd", "accountTypeId": 2, "identity": {"legalName": "Nova Ltd"}},
    )
    assert first.status_code == 201
    assert first.json()["data"]["customerCreated"] is True
    customer = Customer.objects.get(organisation=org, reference_id="NEW-1")
    assert (customer.name, customer.account_type) == ("Nova Ltd", 2)
    assert customer.risk_level  # scored in the same transaction
    second = create(api, clientId="NEW-1", customer={"name": "Ignored"})
    assert second.json()["data"]["customerCreated"] is False
    assert Customer.objects.filter(reference_id="NEW-1").count() == 1
    assert Customer.objects.get(pk=customer.pk).name == "Nova Ltd"
    assert customer.sessions.count() == 2


def test_client_id_default_customer_is_a_person_named_after_it(api, org):
    assert create(api, clientId="client-77").status_code == 201
    customer = Customer.objects.get(organisation=org, reference_id="client-77")
    assert (customer.name, customer.account_type) == ("client-77", 1)


def test_client_id_customer_errors_are_named_under_customer(api):
    response = create(api, clientId="X", customer={"accountTypeId": 3})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "customer.accountTypeId": ["Must be 1 (Person) or 2 (Company)."]
    }
    assert not Customer.objects.exists() and not Session.objects.exists()


@pytest.mark.parametrize(
    ("body", "got"),
    [({"customerId": "ALICE", "clientId": "ALICE"}, "both"), ({}, "neither")],
)
def test_exactly_one_of_customer_id_and_client_id(api, alice, body, got):
    response = create(api, **body)
    assert response.status_code == 400
    assert response.json() == {
        "message": f"Give exactly one of customerId and clientId (got {got}).",
        "error": "Bad Request",
        "statusCode": 400,
    }


def test_unknown_customer_is_404(api, alice):
    response = create(api, customerId="NOPE")
    assert response.status_code == 404
    assert response.json()["message"] == "Customer not found"


def test_tenancy_outsider_404_and_read_only_403(api, outsider_api, readonly_api, alice):
    session = SessionFactory(customer=alice)
    assert create(outsider_api, customerId="ALICE").status_code == 404
    for path in (f"{URL}/{session.public_id}", "/api/v1/customers/ALICE/sessions"):
        response = outsider_api.get(path)
        assert response.status_code == 404
    assert outsider_api.get(URL).json()["data"] == []
    response = outsider_api.patch(
        f"{URL}/{session.public_id}", {"status": "expired"}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["message"] == "Session not found"
    response = create(readonly_api, customerId="ALICE")
    assert response.status_code == 403
    assert response.json()["message"] == "This API key lacks the kyc:create scope."
    assert readonly_api.patch(f"{URL}/{session.public_id}", {}, format="json").status_code == 403
    assert readonly_api.get(URL).status_code == 200
    assert Session.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("ipAddress", "999.1.1.1", "Must be an IPv4 or IPv6 address."),
        ("ipAddress", "localhost", "Must be an IPv4 or IPv6 address."),
        ("ipAddress", 12345, "Must be an IPv4 or IPv6 address."),
        ("userAgent", "x" * 1001, "At most 1000 characters allowed (got 1001)."),
        ("userAgent", "Mozilla\x1b[31m", "Must not contain the control character U+001B."),
        ("userAgent", ["a"], "Must be a string, not an array."),
        (
            "status",
            "done",
            "Must be one of: created, in_progress, approved, declined, review, expired.",
        ),
        ("checks", {"type": "aml"}, "Must be an array, not an object."),
    ],
)
def test_hostile_fields(api, alice, field, value, message):
    response = create(api, customerId="ALICE", **{field: value})
    assert response.status_code == 400
    assert response.json()["errors"] == {field: [message]}
    assert not Session.objects.exists()


def test_hostile_checks(api, alice):
    response = create(
        api,
        customerId="ALICE",
        checks=[
            {"type": "telepathy", "status": "approved"},
            {"type": "aml", "status": "maybe", "extra": 1},
            7,
        ],
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "checks[0].type": [
            "Must be one of: document, liveness, face_match, aml, address, phone, email."
        ],
        "checks[1]": ["Unknown key(s): extra."],
        "checks[1].status": ["Must be one of: approved, declined, review."],
        "checks[2]": ["Must be an object, not a number."],
    }


def test_nan_and_wrong_body_types(api, alice):
    response = api.post(
        URL, '{"customerId": "ALICE", "workflow": NaN}', content_type="application/json"
    )
    assert response.status_code == 400
    response = api.post(URL, "[1]", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["message"] == "Request body must be a JSON object, not an array."
    response = create(api, customerId="ALICE", colour="blue")
    assert response.json()["errors"] == {
        "body": [
            "Unknown key(s): colour. Allowed: customerId, clientId, customer, status, "
            "ipAddress, userAgent, workflow, checks."
        ]
    }


def test_ipv6_is_normalised(api, alice):
    response = create(api, customerId="ALICE", ipAddress="2001:DB8:0:0::1")
    assert response.json()["data"]["ipAddress"] == "2001:db8::1"


@pytest.mark.parametrize("empty", ["", None])
def test_an_empty_or_null_ip_address_means_none(api, alice, empty):
    response = create(api, customerId="ALICE", ipAddress=empty)
    assert response.status_code == 201
    assert response.json()["data"]["ipAddress"] is None
    session_id = response.json()["data"]["id"]
    patched = api.patch(f"/api/v1/sessions/{session_id}", {"ipAddress": empty}, format="json")
    assert patched.status_code == 200
    assert patched.json()["data"]["ipAddress"] is None


@pytest.mark.parametrize("empty", ["", None])
def test_an_empty_or_null_user_agent_means_none(api, alice, empty):
    response = create(api, customerId="ALICE", userAgent=empty)
    assert response.status_code == 201
    assert response.json()["data"]["userAgent"] is None
    session_id = response.json()["data"]["id"]
    patched = api.patch(f"/api/v1/sessions/{session_id}", {"userAgent": empty}, format="json")
    assert patched.status_code == 200
    assert patched.json()["data"]["userAgent"] is None


def test_the_schema_says_an_empty_or_null_user_agent_is_accepted(api):
    schemas = api.get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    for name in ("SessionInputRequest", "PatchedSessionPatchRequest"):
        agent = schemas[name]["properties"]["userAgent"]
        assert agent.get("nullable") is True and "minLength" not in agent, name


def session_of(api, alice, status="created"):
    return create(api, customerId="ALICE", status=status).json()["data"]["id"]


ALLOWED = [
    ("created", "in_progress"),
    ("created", "expired"),
    ("in_progress", "approved"),
    ("in_progress", "declined"),
    ("in_progress", "review"),
    ("in_progress", "expired"),
    ("review", "approved"),
    ("review", "declined"),
    ("review", "expired"),
]


@pytest.mark.parametrize(("start", "end"), ALLOWED)
def test_allowed_transitions(api, alice, start, end):
    pk = session_of(api, alice, start)
    response = api.patch(f"{URL}/{pk}", {"status": end}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Session updated successfully"
    assert body["data"]["status"] == end
    final = end in ("approved", "declined", "expired")
    assert (body["data"]["completedAt"] is not None) == final


REFUSED = [
    (start, end)
    for start in ("created", "in_progress", "review")
    for end in SessionStatus.values
    if end != start and (start, end) not in ALLOWED
]


@pytest.mark.parametrize(("start", "end"), REFUSED)
def test_refused_transitions(api, alice, start, end):
    pk = session_of(api, alice, start)
    response = api.patch(f"{URL}/{pk}", {"status": end}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "message": f"Session cannot go from {start} to {end}",
        "error": "Conflict",
        "statusCode": 409,
    }


@pytest.mark.parametrize("final", ["approved", "declined", "expired"])
def test_a_final_session_cannot_change(api, alice, final):
    pk = session_of(api, alice, final)
    for body in ({"status": "review"}, {"userAgent": "new"}, {}):
        response = api.patch(f"{URL}/{pk}", body, format="json")
        assert response.status_code == 409
        assert response.json()["message"] == f"Session is already {final}"


def test_patch_validates_and_refuses_create_only_keys(api, alice):
    pk = session_of(api, alice)
    response = api.patch(f"{URL}/{pk}", {"workflow": "x", "ipAddress": "nope"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "body": ["Unknown key(s): workflow. Allowed: status, checks, ipAddress, userAgent."],
        "ipAddress": ["Must be an IPv4 or IPv6 address."],
    }


def test_unknown_session_is_404(api):
    for key in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        response = api.get(f"{URL}/{key}")
        assert response.status_code == 404
        assert response.json()["message"] == "Session not found"


def test_usual_user_agent_most_frequent_ties_to_the_most_recent(api, alice):
    for agent in ("A", "B", "A", "B"):
        create(api, customerId="ALICE", userAgent=agent)
    alice.refresh_from_db()
    # A and B twice each: B was seen last.
    assert (alice.usual_user_agent, alice.last_user_agent) == ("B", "B")
    create(api, customerId="ALICE", userAgent="A")
    create(api, customerId="ALICE", ipAddress="198.51.100.1")  # no user agent
    alice.refresh_from_db()
    assert (alice.usual_user_agent, alice.last_user_agent) == ("A", "A")
    assert alice.last_ip_address == "198.51.100.1"


def test_sessions_rescore_the_customer(api, alice, set_rules):
    set_rules(declinedSession=30)
    pk = session_of(api, alice, "in_progress")
    api.patch(f"{URL}/{pk}", {"status": "declined"}, format="json")
    profile = api.get("/api/v1/customers/ALICE/risk-profile").json()["data"]
    assert profile["factors"] == [
        {
            "code": "declined_sessions",
            "description": "1 declined session (30 points each)",
            "points": 30,
        }
    ]
    assert profile["riskScoreName"] == "Medium risk"


def test_list_filters_and_meta(api, alice, org):
    bob = PersonFactory(organisation=org, reference_id="BOB")
    SessionFactory(customer=alice, status="approved")
    SessionFactory(customer=bob, status="declined")
    SessionFactory(customer=bob, status="approved")
    body = api.get(URL, {"status": "approved"}).json()
    assert body["message"] == "Sessions fetched successfully"
    assert body["meta"] == {"page": 1, "pageSize": 20, "totalElements": 2, "totalPages": 1}
    assert {s["customerReferenceId"] for s in body["data"]} == {"ALICE", "BOB"}
    assert len(api.get(URL, {"customerId": "BOB"}).json()["data"]) == 2
    assert api.get(URL, {"createdAfter": "2999-01-01"}).json()["data"] == []
    assert len(api.get(URL, {"createdBefore": "2999-01-01"}).json()["data"]) == 3
    response = api.get(URL, {"status": "bogus", "createdAfter": "yesterday"})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "status": ["Must be one of: created, in_progress, approved, declined, review, expired."],
        "createdAfter": [
            "Must be an ISO 8601 date or datetime, e.g. 2025-06-27 (got 'yesterday')."
        ],
    }


def test_customer_sessions_newest_first_and_kept_after_deactivation(api, alice):
    ids = [session_of(api, alice) for _ in range(3)]
    assert api.delete("/api/v1/customers/ALICE").status_code == 200
    body = api.get("/api/v1/customers/ALICE/sessions", {"pageSize": 2}).json()
    assert [s["id"] for s in body["data"]] == ids[::-1][:2]
    assert body["meta"] == {"page": 1, "pageSize": 2, "totalElements": 3, "totalPages": 2}
    assert api.get("/api/v1/customers/NOPE/sessions").json()["message"] == "Customer not found"


def test_query_counts_are_constant(api, alice, org, django_assert_num_queries):
    for i in range(4):
        SessionFactory(customer=PersonFactory(organisation=org, reference_id=f"P{i}"))
        SessionFactory(customer=alice)
    api.get(URL)  # the key's lastUsedAt is written once a minute: not in the count
    # key lookup, count, page with the customers joined
    with django_assert_num_queries(3):
        assert len(api.get(URL).json()["data"]) == 8
    with django_assert_num_queries(4):  # + the customer
        assert len(api.get("/api/v1/customers/ALICE/sessions").json()["data"]) == 4


def test_a_null_customer_id_is_absent_and_an_empty_reason_none(api, alice):
    response = create(
        api,
        customerId=None,
        clientId="ALICE",
        checks=[{"type": "document", "status": "approved", "reason": ""}],
    )
    assert response.status_code == 201
    data = response.json()["data"]
    assert (data["customerReferenceId"], data["customerCreated"]) == ("ALICE", False)
    assert data["checks"] == [{"type": "document", "status": "approved", "reason": None}]


def test_null_checks_are_no_checks(api, alice):
    response = create(api, customerId="ALICE", checks=None)
    assert response.status_code == 201 and response.json()["data"]["checks"] == []
    public_id = create(
        api, customerId="ALICE", checks=[{"type": "aml", "status": "approved"}]
    ).json()["data"]["id"]
    response = api.patch(f"{URL}/{public_id}", {"checks": None}, format="json")
    assert response.status_code == 200 and response.json()["data"]["checks"] == []
