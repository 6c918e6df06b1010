"""Known-answer risk tests: each factor with hand-computed points, their sum, the cap,
the bands, the history of a level change and the announcements."""

from decimal import Decimal

import pytest

from customers.models import Customer
from customers.services import customer_update, customer_upsert
from kyc.models import SessionStatus
from kyc.scoring import COPY_FROM, customers_rescore
from kyc.services import customer_rescore
from kycregistry import events
from relations.models import Role
from tests.factories import (
    CompanyFactory,
    ConnectionFactory,
    FieldDefinitionFactory,
    PersonFactory,
)
from tests.kyc.factories import SessionFactory

pytestmark = pytest.mark.django_db


def rescore(customer: Customer) -> Customer:
    return customer_rescore(customer=customer)


def factors(customer: Customer) -> list[tuple[str, str, int]]:
    return [(f["code"], f["description"], f["points"]) for f in customer.risk_factors]


def test_a_new_customer_is_scored_at_once_with_the_shipped_defaults(org):
    result = customer_upsert(
        organisation=org,
        data={
            "referenceId": "C1",
            "name": "Acme Ltd",
            "accountTypeId": 2,
            "identity": {"legalName": "Acme Ltd", "country": "IR"},
        },
    )
    customer = Customer.objects.get(pk=result.customer.pk)
    # country IR 50 + company 10 + no shareholder 10
    assert factors(customer) == [
        ("country", "Country IR (Iran, Islamic Republic of)", 50),
        ("account_type", "Account type Company", 10),
        ("missing_ownership", "No shareholder recorded", 10),
    ]
    assert (customer.risk_score, customer.risk_score_name) == (70, "High risk")
    assert customer.risk_rules_version == 0 and customer.risk_calculated_at is not None
    # The first score is written onto the creation history row, not a row of its own.
    (created,) = customer.history.all()
    assert (created.history_type, created.risk_score, created.risk_level) == ("+", 70, "High risk")


def test_country_the_higher_of_country_and_registration_address(org, set_rules):
    set_rules(countries={"SY": 25, "IR": 50})
    company = CompanyFactory(organisation=org, country="SY", address={"country": "IR"})
    person = PersonFactory(organisation=org, country="SY", address={"country": "IR"})
    assert factors(rescore(company)) == [
        ("country", "Registration country IR (Iran, Islamic Republic of)", 50)
    ]
    # A person's residential address does not count: only its country.
    assert factors(rescore(person)) == [("country", "Country SY (Syrian Arab Republic)", 25)]


def test_account_type(org, set_rules):
    set_rules(accountTypes={"1": 5, "2": 20})
    assert rescore(PersonFactory(organisation=org)).risk_score == 5
    assert factors(rescore(CompanyFactory(organisation=org))) == [
        ("account_type", "Account type Company", 20)
    ]


def test_declined_and_review_sessions_per_session_with_their_caps(org, set_rules):
    set_rules(declinedSession=15, declinedSessionMax=40, reviewSession=10, reviewSessionMax=100)
    person = PersonFactory(organisation=org)
    for status in [SessionStatus.DECLINED] * 3 + [SessionStatus.REVIEW]:
        SessionFactory(customer=person, status=status)
    assert factors(rescore(person)) == [
        ("declined_sessions", "3 declined sessions (15 points each, at most 40)", 40),
        ("review_sessions", "1 review session (10 points each)", 10),
    ]
    assert person.risk_score == 50 and person.risk_score_name == "High risk"


def test_no_approved_session_only_when_there_are_sessions(org, set_rules):
    set_rules(noApprovedSession=12)
    person = PersonFactory(organisation=org)
    assert rescore(person).risk_score == 0  # no session at all: nothing to say
    SessionFactory(customer=person, status=SessionStatus.IN_PROGRESS)
    SessionFactory(customer=person, status=SessionStatus.EXPIRED)
    assert factors(rescore(person)) == [("no_approved_session", "2 sessions, none approved", 12)]
    SessionFactory(customer=person, status=SessionStatus.APPROVED)
    assert rescore(person).risk_factors == []


def test_connected_high_risk_in_either_direction_names_the_party(org, set_rules):
    set_rules(connectedHighRisk=25)
    company = CompanyFactory(organisation=org, reference_id="CO", name="Co Ltd")
    risky = PersonFactory(
        organisation=org, reference_id="RISKY", name="Rex Risky", risk_level="High risk"
    )
    holder = PersonFactory(organisation=org, reference_id="H", name="Hal Holder")
    ConnectionFactory(customer=company, connected_customer=risky, role=Role.DIRECTOR)
    ConnectionFactory(customer=company, connected_customer=holder, role=Role.DIRECTOR)
    assert factors(rescore(company)) == [
        ("connected_high_risk", "Connected to a High risk party: Rex Risky (RISKY)", 25)
    ]
    assert rescore(holder).risk_factors == []  # a holder of the same company: not connected
    company.risk_level = "High risk"
    company.save()
    assert factors(rescore(holder)) == [
        ("connected_high_risk", "Connected to a High risk party: Co Ltd (CO)", 25)
    ]


def test_missing_ownership_against_the_organisation_minimum(org, set_rules):
    set_rules(missingOwnership=10)
    org.kyb_min_total_shareholding = Decimal("51")
    org.save()
    company = CompanyFactory(organisation=org)
    assert factors(rescore(company)) == [("missing_ownership", "No shareholder recorded", 10)]
    owner = PersonFactory(organisation=org)
    connection = ConnectionFactory(
        customer=company, connected_customer=owner, ownership_percentage=Decimal("40.5")
    )
    assert factors(rescore(company)) == [
        (
            "missing_ownership",
            "Direct shareholdings total 40.5% (at least 51% expected)",
            10,
        )
    ]
    connection.ownership_percentage = Decimal("51")
    connection.save()
    assert rescore(company).risk_factors == []
    assert rescore(owner).risk_factors == []  # persons never miss ownership


def test_custom_field_values(org, set_rules):
    set_rules(customFields={"industry": {"crypto": 30, "casino": 20}, "pep": {"true": 40}})
    person = PersonFactory(organisation=org, custom_fields={"industry": "Crypto", "pep": True})
    assert factors(rescore(person)) == [
        ("custom_field", "industry = Crypto", 30),
        ("custom_field", "pep = True", 40),
    ]
    assert person.risk_score == 70


def test_points_add_up_and_the_cap_says_so(org, set_rules):
    set_rules(
        countries={"IR": 60},
        accountTypes={"2": 30},
        missingOwnership=25,
        bands={"medium": 30, "high": 90},
    )
    company = rescore(CompanyFactory(organisation=org, country="IR"))
    assert factors(company)[-1] == ("cap", "Capped at 100 (the factors total 115)", -15)
    assert sum(f["points"] for f in company.risk_factors) == company.risk_score == 100
    assert company.risk_score_name == "High risk"


@pytest.mark.parametrize(
    ("points", "level"),
    [
        (0, "Low risk"),
        (29, "Low risk"),
        (30, "Medium risk"),
        (79, "Medium risk"),
        (80, "High risk"),
    ],
)
def test_bands_are_the_organisations(org, set_rules, points, level):
    set_rules(accountTypes={"1": points}, bands={"medium": 30, "high": 80})
    assert rescore(PersonFactory(organisation=org)).risk_score_name == level


def test_a_level_change_is_history_with_old_and_new_values_and_the_reason(
    org, set_rules, announced
):
    set_rules(countries={"IR": 60})
    result = customer_upsert(
        organisation=org, data={"referenceId": "P1", "name": "Pat", "accountTypeId": 1}
    )
    customer = result.customer
    seen: list = []
    events.subscribe(events.RiskChanged, seen.append)
    try:
        customer_update(
            customer=customer,
            data={"identity": {"givenName": "Pat", "familyName": "Doe", "country": "IR"}},
        )
    finally:
        events.unsubscribe(events.RiskChanged, seen.append)
    latest = Customer.objects.get(pk=customer.pk).history.first()
    assert (latest.risk_score, latest.risk_level) == (60, "High risk")
    assert latest.history_change_reason == (
        "Risk level Low risk → High risk (score 0 → 60): Customer data changed"
    )
    (event,) = seen
    assert event.changes == (
        events.RiskChange(customer.pk, 0, 60, "Low risk", "High risk", customer.reference_id),
    )
    # The risk write announced no customer write of its own (no loop back).
    written = [e for e in announced if isinstance(e, events.CustomersWritten)]
    assert [e.changed_fields for e in written[1:]] == [
        {customer.pk: frozenset({"country", "given_name", "family_name"})}
    ]


def test_only_score_changes_leave_no_history_row(org, set_rules):
    set_rules(countries={"SY": 10, "IR": 20})
    customer = customer_upsert(
        organisation=org,
        data={
            "referenceId": "P1",
            "name": "Pat",
            "accountTypeId": 1,
            "identity": {"givenName": "Pat", "familyName": "Doe", "country": "SY"},
        },
    ).customer
    before = customer.history.count()
    set_rules(countries={"SY": 15})
    assert Customer.objects.get(pk=customer.pk).risk_score == 15  # the task ran
    assert customer.history.count() == before


def test_a_connected_party_turning_high_rescores_its_neighbours(org, set_rules):
    set_rules(connectedHighRisk=30, countries={"IR": 50})
    company = CompanyFactory(organisation=org)
    director = PersonFactory(organisation=org)
    ConnectionFactory(customer=company, connected_customer=director, role=Role.DIRECTOR)
    customers_rescore(organisation_id=org.pk, ids=[company.pk, director.pk], why="test")
    assert Customer.objects.get(pk=company.pk).risk_score == 0
    customer_update(
        customer=director,
        data={"identity": {"givenName": "Pat", "familyName": "Doe", "country": "IR"}},
    )
    company.refresh_from_db()
    assert (company.risk_score, company.risk_level) == (30, "Medium risk")
    assert company.history.first().history_change_reason.endswith(
        "A connected party's risk level changed"
    )


def test_large_sets_take_the_bulk_path_with_history_and_creation_rows(org, set_rules):
    """More rows than COPY_FROM: PostgreSQL writes through COPY and a temporary table."""
    people = PersonFactory.create_batch(COPY_FROM + 20, organisation=org, country="FR")
    ids = [p.pk for p in people]
    # New customers: the first score lands on their creation history row.
    customers_rescore(organisation_id=org.pk, ids=ids, why="test", created_ids=ids)
    created = Customer.history.filter(id__in=ids, history_type="+")
    assert set(created.values_list("risk_score", "risk_level")) == {(0, "Low risk")}
    set_rules(countries={"FR": 30})  # the whole book, as after PUT /risk-rules
    latest = Customer.history.filter(id__in=ids, history_type="~")
    assert latest.count() == len(ids)
    assert set(latest.values_list("risk_score", "risk_level", "history_change_reason")) == {
        (
            30,
            "Medium risk",
            "Risk level Low risk → Medium risk (score 0 → 30): Risk rules version 1",
        )
    }
    stored = Customer.objects.filter(pk__in=ids).values_list("risk_factors", flat=True)
    expected = [{"code": "country", "description": "Country FR (France)", "points": 30}]
    assert all(factors == expected for factors in stored)


# Each column a factor reads (kyc.reactions.SCORED_FIELDS), changed through the upsert;
# accountTypeId cannot change once set.
SCORED_CHANGES = {
    "country": {"identity": {"legalName": "Acme Ltd", "country": "IR"}},
    "address": {"profile": {"registrationAddress": {"country": "IR", "city": "Tehran"}}},
    "custom_fields": {"industry": "crypto"},
}


@pytest.mark.parametrize("change", SCORED_CHANGES.values(), ids=SCORED_CHANGES.keys())
def test_a_change_of_a_scoring_input_rescores_the_customer(org, set_rules, change):
    set_rules(countries={"IR": 50}, customFields={"industry": {"crypto": 50}})
    FieldDefinitionFactory(organisation=org, key="industry")
    base = {"referenceId": "C1", "name": "Acme Ltd", "accountTypeId": 2}
    customer_upsert(organisation=org, data=base)
    result = customer_upsert(organisation=org, data={**base, **change})
    stored = Customer.objects.get(pk=result.customer.pk)
    assert (stored.risk_score, stored.risk_score_name) == (50, "High risk")
    assert (result.customer.risk_score, result.customer.risk_score_name) == (50, "High risk")


def test_a_change_of_other_fields_does_not_rescore(org, set_rules):
    set_rules(countries={"IR": 50})
    base = {"referenceId": "C1", "name": "Acme Ltd", "accountTypeId": 2}
    first = customer_upsert(organisation=org, data=base).customer
    scored_at = Customer.objects.get(pk=first.pk).risk_calculated_at
    change = {
        "name": "Acme Holdings Ltd",
        "externalId": "X-1",
        "profile": {"email": "ops@acme.example", "phone": "+441234567890"},
    }
    customer_upsert(organisation=org, data={**base, **change})
    stored = Customer.objects.get(pk=first.pk)
    assert (stored.name, stored.email) == ("Acme Holdings Ltd", "ops@acme.example")
    assert stored.risk_calculated_at == scored_at
