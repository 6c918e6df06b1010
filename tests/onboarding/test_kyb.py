"""KYB approval (seed 003's constraints): API, services, the review flag."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from customers.models import OnboardingStatus
from onboarding.kyb import (
    MIN_AUTHORIZED_PERSONS,
    MIN_SHAREHOLDERS,
    MIN_TOTAL_SHAREHOLDING,
    customer_approve,
    kyb_constraint_failures,
    kyb_recheck,
)
from relations.models import Role
from relations.services import connection_add, connection_remove
from relations.validation import ConnectItem
from tests.relations.ownership_helpers import company, owns, person, role

pytestmark = pytest.mark.django_db

APPROVE = "/api/v1/customers/{}/approve"
REJECT = "/api/v1/customers/{}/reject"


@pytest.fixture
def good(org):
    """51% in shareholdings and one authorised person: approvable."""
    target = company(org, "GOOD", "Good Ltd")
    owns(person(org, "S1"), target, 30)
    owns(company(org, "S2"), target, 21)
    role(person(org, "REP"), target, Role.AUTHORIZED_PERSON)
    return target


def test_approve_company_meeting_constraints(api, good):
    response = api.post(APPROVE.format("GOOD"))
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Customer approved successfully"
    assert body["data"]["referenceId"] == "GOOD"
    assert body["data"]["onboardingStatus"] == "APPROVED"
    good.refresh_from_db()
    assert good.onboarding_status == OnboardingStatus.APPROVED
    assert good.history.first().history_channel == "api"


def test_approve_lists_every_failed_constraint(api, org):
    target = company(org, "BARE")
    owns(person(org, "P"), target, 40)
    owns(person(org, "GONE"), target, 30, valid_to=date(2020, 1, 1))  # ended: not counted
    response = api.post(APPROVE.format("BARE"))
    assert response.status_code == 400
    assert response.json() == {
        "message": "Customer cannot be approved: min_authorized_persons: at least 1 "
        "AUTHORIZED_PERSON required (found 0); min_total_shareholding: shareholdings must "
        "total at least 51% (found 40%)",
        "error": "Bad Request",
        "statusCode": 400,
        "errors": {
            "constraints": [
                "min_authorized_persons: at least 1 AUTHORIZED_PERSON required (found 0)",
                "min_total_shareholding: shareholdings must total at least 51% (found 40%)",
            ]
        },
    }
    target.refresh_from_db()
    assert target.onboarding_status == OnboardingStatus.PENDING


def test_company_without_connections_fails_all_three(org):
    target = company(org, "EMPTY")
    assert [(f.name, f.message) for f in kyb_constraint_failures(customer=target)] == [
        (MIN_SHAREHOLDERS, "at least 1 SHAREHOLDER required (found 0)"),
        (MIN_AUTHORIZED_PERSONS, "at least 1 AUTHORIZED_PERSON required (found 0)"),
        (MIN_TOTAL_SHAREHOLDING, "shareholdings must total at least 51% (found 0%)"),
    ]


def test_constraints_follow_the_organisation_settings(org, good):
    org.kyb_min_shareholders = 3
    org.kyb_min_authorized_persons = 0
    org.kyb_min_total_shareholding = Decimal("50.5")
    org.save()
    good.refresh_from_db()
    assert [str(f) for f in kyb_constraint_failures(customer=good)] == [
        "min_shareholders: at least 3 SHAREHOLDER required (found 2)"
    ]


def test_person_is_approved_without_company_constraints(api, org):
    person(org, "LONER")
    response = api.post(APPROVE.format("LONER"))
    assert response.status_code == 200
    assert response.json()["data"]["onboardingStatus"] == "APPROVED"


def test_reject(api, good):
    response = api.post(REJECT.format("GOOD"))
    assert response.status_code == 200
    assert response.json()["message"] == "Customer rejected successfully"
    assert response.json()["data"]["onboardingStatus"] == "REJECTED"
    good.refresh_from_db()
    assert good.onboarding_status == OnboardingStatus.REJECTED


@pytest.mark.parametrize("url", [APPROVE, REJECT])
def test_tenancy_and_scopes(api, readonly_api, outsider_api, good, url):
    not_found = {"message": "Customer not found", "error": "Not Found", "statusCode": 404}
    outsider = outsider_api.post(url.format("GOOD"))
    assert (outsider.status_code, outsider.json()) == (404, not_found)
    unknown = api.post(url.format("NOPE"))
    assert (unknown.status_code, unknown.json()) == (404, not_found)
    readonly = readonly_api.post(url.format("GOOD"))
    assert readonly.status_code == 403
    assert readonly.json()["message"] == "This API key lacks the kyc:create scope."
    good.refresh_from_db()
    assert good.onboarding_status == OnboardingStatus.PENDING


def test_breaking_change_flags_an_approved_company_and_fixing_clears_it(org, good):
    customer_approve(customer=good)
    rep = good.connections.get(role=Role.AUTHORIZED_PERSON)
    connection_remove(connection=rep)
    good.refresh_from_db()
    assert good.onboarding_status == OnboardingStatus.APPROVED
    assert good.needs_review is True
    assert good.review_reason == (
        "KYB constraints no longer hold: min_authorized_persons: at least 1 "
        "AUTHORIZED_PERSON required (found 0)"
    )
    assert good.history.first().needs_review is True

    person(org, "REP2")
    connection_add(
        customer=good, item=ConnectItem(reference_id="REP2", role=Role.AUTHORIZED_PERSON)
    )
    good.refresh_from_db()
    assert good.needs_review is False
    assert good.review_reason == ""


def test_recheck_ignores_pending_companies_and_foreign_reasons(org, good):
    good.connections.filter(role=Role.AUTHORIZED_PERSON).delete()
    kyb_recheck(customer=good)
    good.refresh_from_db()
    assert good.needs_review is False  # not approved: nothing to review

    good.onboarding_status = OnboardingStatus.APPROVED
    good.needs_review = True
    good.review_reason = "Screening hit"
    good.save()
    role(person(org, "REP3"), good, Role.AUTHORIZED_PERSON)
    kyb_recheck(customer=good)
    good.refresh_from_db()
    assert (good.needs_review, good.review_reason) == (True, "Screening hit")


def test_constraints_count_connections_valid_today(org):
    target = company(org, "FUTURE")
    tomorrow = date.today() + timedelta(days=1)
    owns(person(org, "LATER"), target, 60, valid_from=tomorrow)
    role(person(org, "REP"), target, Role.AUTHORIZED_PERSON)
    assert [f.name for f in kyb_constraint_failures(customer=target)] == [
        MIN_SHAREHOLDERS,
        MIN_TOTAL_SHAREHOLDING,
    ]
    assert kyb_constraint_failures(customer=target, on=tomorrow) == []


def test_approve_clears_a_review_flag(api, good):
    good.needs_review = True
    good.review_reason = "KYB constraints no longer hold: x"
    good.save()
    assert api.post(APPROVE.format("GOOD")).status_code == 200
    good.refresh_from_db()
    assert (good.needs_review, good.review_reason) == (False, "")
