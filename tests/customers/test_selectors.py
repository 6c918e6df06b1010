"""GET /customers filters, search, ordering and query counts."""

from datetime import UTC, datetime

import pytest

from customers.models import Customer
from tests.factories import (
    CompanyFactory,
    ConnectionFactory,
    FieldDefinitionFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers"


def refs(response):
    assert response.status_code == 200, response.json()
    return sorted(c["referenceId"] for c in response.json()["data"])


def test_account_type_filter(api, org):
    PersonFactory(organisation=org, reference_id="P")
    CompanyFactory(organisation=org, reference_id="C")
    assert refs(api.get(URL, {"accountTypeId": 1})) == ["P"]
    assert refs(api.get(URL, {"accountTypeId": 2})) == ["C"]


def test_status_filter(api, org):
    PersonFactory(organisation=org, reference_id="A")
    PersonFactory(organisation=org, reference_id="I", status="inactive")
    assert refs(api.get(URL)) == ["A"]
    assert refs(api.get(URL, {"status": "active"})) == ["A"]
    assert refs(api.get(URL, {"status": "inactive"})) == ["I"]
    assert refs(api.get(URL, {"status": "all"})) == ["A", "I"]


def test_risk_filter(api, org):
    # The level stored with the score is what the filter reads (bands are per organisation).
    for ref, score, level in (
        ("L", 10, "Low risk"),
        ("M", 25, "Medium risk"),
        ("H", 50, "High risk"),
        ("N", None, ""),
    ):
        PersonFactory(organisation=org, reference_id=ref, risk_score=score, risk_level=level)
    assert refs(api.get(URL, {"riskScoreName": "Low risk"})) == ["L"]
    assert refs(api.get(URL, {"riskScoreName": "Medium risk"})) == ["M"]
    assert refs(api.get(URL, {"riskScoreName": "high"})) == ["H"]


def test_onboarding_monitored_country_filters(api, org):
    PersonFactory(
        organisation=org,
        reference_id="A",
        onboarding_status="APPROVED",
        monitored=True,
        country="GB",
    )
    PersonFactory(organisation=org, reference_id="B", country="TR")
    assert refs(api.get(URL, {"onboardingStatus": "APPROVED"})) == ["A"]
    assert refs(api.get(URL, {"onboardingStatus": "PENDING"})) == ["B"]
    assert refs(api.get(URL, {"monitored": "true"})) == ["A"]
    assert refs(api.get(URL, {"monitored": "false"})) == ["B"]
    assert refs(api.get(URL, {"country": "tr"})) == ["B"]


def test_created_filters(api, org):
    for ref, day in (("JAN", 1), ("FEB", 2), ("MAR", 3)):
        customer = PersonFactory(organisation=org, reference_id=ref)
        Customer.objects.filter(pk=customer.pk).update(
            created_at=datetime(2025, day, 15, 12, tzinfo=UTC)
        )
    assert refs(api.get(URL, {"createdAfter": "2025-02-15"})) == ["FEB", "MAR"]
    assert refs(api.get(URL, {"createdBefore": "2025-02-15"})) == ["FEB", "JAN"]
    assert refs(api.get(URL, {"createdAfter": "2025-02-15T12:00:01Z"})) == ["MAR"]
    assert refs(
        api.get(URL, {"createdAfter": "2025-01-16", "createdBefore": "2025-03-01T00:00:00+00:00"})
    ) == ["FEB"]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"accountTypeId": "3"}, "accountTypeId", "Must be 1 (Person) or 2 (Company)."),
        ({"accountTypeId": "x"}, "accountTypeId", "Must be 1 (Person) or 2 (Company)."),
        ({"status": "deleted"}, "status", "Must be one of: active, inactive, all."),
        (
            {"riskScoreName": "extreme"},
            "riskScoreName",
            "Must be one of: Low risk, Medium risk, High risk.",
        ),
        (
            {"onboardingStatus": "DONE"},
            "onboardingStatus",
            "Must be one of: PENDING, APPROVED, REJECTED.",
        ),
        ({"monitored": "maybe"}, "monitored", "Must be true or false."),
        ({"country": "XX"}, "country", "Must be an ISO 3166-1 alpha-2 country code (got 'XX')."),
        (
            {"createdAfter": "yesterday"},
            "createdAfter",
            "Must be an ISO 8601 date or datetime, e.g. 2025-06-27 (got 'yesterday').",
        ),
        (
            {"createdBefore": "2025-13-45"},
            "createdBefore",
            "Must be an ISO 8601 date or datetime, e.g. 2025-06-27 (got '2025-13-45').",
        ),
        ({"search": "x" * 201}, "search", "At most 200 characters allowed."),
        # Sent empty: refused as any other value these do not take.
        ({"accountTypeId": ""}, "accountTypeId", "Must be 1 (Person) or 2 (Company)."),
        ({"status": " "}, "status", "Must be one of: active, inactive, all."),
        (
            {"riskScoreName": ""},
            "riskScoreName",
            "Must be one of: Low risk, Medium risk, High risk.",
        ),
        (
            {"onboardingStatus": ""},
            "onboardingStatus",
            "Must be one of: PENDING, APPROVED, REJECTED.",
        ),
        ({"monitored": ""}, "monitored", "Must be true or false."),
        ({"country": ""}, "country", "Must be an ISO 3166-1 alpha-2 country code (got '')."),
        (
            {"createdAfter": ""},
            "createdAfter",
            "Must be an ISO 8601 date or datetime, e.g. 2025-06-27 (got '').",
        ),
        (
            {"createdBefore": ""},
            "createdBefore",
            "Must be an ISO 8601 date or datetime, e.g. 2025-06-27 (got '').",
        ),
        (
            {"ordering": "password"},
            "ordering",
            "Must be one of: createdAt, -createdAt, updatedAt, -updatedAt, name, -name, "
            "referenceId, -referenceId, clientNumber, -clientNumber, riskScore, -riskScore.",
        ),
    ],
)
def test_invalid_filter_values(api, org, params, field, message):
    PersonFactory(organisation=org)
    response = api.get(URL, params)
    assert response.status_code == 400
    assert response.json() == {
        "message": f"{field}: {message}",
        "error": "Bad Request",
        "statusCode": 400,
        "errors": {field: [message]},
    }


@pytest.mark.parametrize("query", ["ozel", "OZEL", "Özel", "özel", "ÖZEL", "canay ozel"])
def test_search_is_accent_and_case_insensitive(api, org, query):
    PersonFactory(organisation=org, reference_id="TR-1", name="Canay Özel")
    PersonFactory(organisation=org, reference_id="GB-1", name="John Smith")
    assert refs(api.get(URL, {"search": query})) == ["TR-1"]


def test_search_covers_reference_client_number_email_and_identifications(api, org):
    a = PersonFactory(
        organisation=org,
        reference_id="REF-ABC",
        email="pat@Example.com",
        identifications=[{"type": "passport", "identificationNumber": "P998877"}],
    )
    PersonFactory(organisation=org, reference_id="OTHER")
    for query in ("ref-abc", a.client_number, "pat@example", "p998877"):
        assert refs(api.get(URL, {"search": query})) == ["REF-ABC"], query


def test_search_treats_like_wildcards_literally(api, org):
    PersonFactory(organisation=org, reference_id="A", name="100% Ltd")
    PersonFactory(organisation=org, reference_id="B", name="1000 Ltd")
    assert refs(api.get(URL, {"search": "100%"})) == ["A"]
    assert refs(api.get(URL, {"search": "_"})) == []


def test_ordering(api, org):
    PersonFactory(organisation=org, reference_id="B", name="Beta", risk_score=30)
    PersonFactory(organisation=org, reference_id="A", name="Alpha", risk_score=90)
    PersonFactory(organisation=org, reference_id="C", name="Gamma", risk_score=10)

    def order(value):
        return [c["referenceId"] for c in api.get(URL, {"ordering": value}).json()["data"]]

    assert order("name") == ["A", "B", "C"]
    assert order("-name") == ["C", "B", "A"]
    assert order("referenceId") == ["A", "B", "C"]
    assert order("-riskScore") == ["A", "B", "C"]
    assert order("createdAt") == ["B", "A", "C"]
    assert order("-createdAt") == ["C", "A", "B"]
    assert [c["referenceId"] for c in api.get(URL).json()["data"]] == ["C", "A", "B"]


def _warm(client):
    # The first request of a fresh key stamps lastUsedAt (once a minute at most).
    client.get(URL)


def test_list_query_count_is_constant(api, org, django_assert_num_queries):
    for key in ("a", "b", "c"):
        FieldDefinitionFactory(organisation=org, key=key)
    for _ in range(5):
        company = CompanyFactory(organisation=org, custom_fields={"a": "1", "b": "2"})
        ConnectionFactory(customer=company, connected_customer=PersonFactory(organisation=org))
    _warm(api)
    # key lookup, COUNT(*), the page, the field definitions
    with django_assert_num_queries(4):
        response = api.get(URL)
    assert len(response.json()["data"]) == 10
    companies = [c for c in response.json()["data"] if c["accountTypeId"] == 2]
    assert len(companies) == 5
    assert all(len(c["customerMappedField"]) == 2 for c in companies)


def test_list_stamps_last_used_once(api, org, django_assert_num_queries):
    for _ in range(3):
        PersonFactory(organisation=org)
    # key, lastUsedAt update of a fresh key, COUNT(*), the page (no custom field values:
    # no field definitions)
    with django_assert_num_queries(4):
        api.get(URL)


def test_detail_query_count(api, org, django_assert_num_queries):
    FieldDefinitionFactory(organisation=org, key="a")
    company = CompanyFactory(organisation=org, reference_id="C1", custom_fields={"a": "x"})
    for role in ("DIRECTOR", "DIRECTOR", "UBO", "SHAREHOLDER"):
        ConnectionFactory(
            customer=company, connected_customer=PersonFactory(organisation=org), role=role
        )
    _warm(api)
    # key state, the customer with its connection counts, the field definitions
    with django_assert_num_queries(3):
        response = api.get(f"{URL}/C1")
    assert response.json()["data"]["connectionCounts"]["total"] == 4


@pytest.mark.parametrize("params", [{}, {"page": "2", "pageSize": "5"}, {"cursor": ""}, {"x": "1"}])
def test_without_a_filter_the_list_is_the_filtersets_without_its_form(org, params):
    from customers.filters import CustomerFilter
    from customers.selectors import customer_list

    customers = Customer.objects.for_organisation(org)
    through_form = CustomerFilter(data=params, queryset=customers)
    assert through_form.is_valid()
    assert str(customer_list(organisation=org, filters=params).query) == str(through_form.qs.query)


def test_the_compiled_default_list_is_customer_lists(org, other_org):
    """Pages by number of the list without a filter read a compiled query: the same
    rows in the same order (ties on createdAt broken by id), active ones only."""
    from django.utils import timezone

    from customers.selectors import customer_list, customer_pages

    moment = timezone.now()
    for n in range(7):
        PersonFactory(organisation=org, status="inactive" if n % 3 == 0 else "active")
    Customer.objects.filter(organisation=org).update(created_at=moment)  # all tied
    PersonFactory(organisation=other_org)
    rows = customer_pages(organisation=org, filters={})
    expected = [c.pk for c in customer_list(organisation=org, filters={})]
    assert len(expected) == 4
    assert [c.pk for c in rows[0:100]] == expected
    assert [c.pk for c in rows[1:3]] == expected[1:3]
    assert rows.count() == 4 and rows.count(upto=2) == 2
