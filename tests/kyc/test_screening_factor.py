"""Factor screening_hit: open hits and confirmed hits score, and a review rescores."""

import pytest

from kyc.scoring import customers_rescore
from tests.factories import PersonFactory
from tests.screening.factories import screening_hit_for

pytestmark = pytest.mark.django_db


def screening_factors(api, ref):
    profile = api.get(f"/api/v1/customers/{ref}/risk-profile").json()["data"]
    return profile["riskScore"], [f for f in profile["factors"] if f["code"] == "screening_hit"]


def test_open_then_confirmed_hit(api, org):
    person = PersonFactory(organisation=org, reference_id="P-1", name="Sergei Petrov")
    hit = screening_hit_for(person)
    customers_rescore(organisation_id=org.pk, ids=[person.pk], why="test")
    score, factors = screening_factors(api, "P-1")
    assert factors == [
        {
            "code": "screening_hit",
            "description": "1 screening hit open, not reviewed yet (10 points each)",
            "points": 10,
        }
    ]
    assert score == 10

    response = api.patch(f"/api/v1/screening-hits/{hit.pk}", {"status": "confirmed"}, format="json")
    assert response.status_code == 200, response.json()
    score, factors = screening_factors(api, "P-1")
    assert factors == [
        {
            "code": "screening_hit",
            "description": "1 screening hit confirmed (50 points each)",
            "points": 50,
        }
    ]
    assert score == 50


def test_a_dismissed_hit_scores_nothing(api, org):
    person = PersonFactory(organisation=org, reference_id="P-1", name="Sergei Petrov")
    hit = screening_hit_for(person)
    response = api.patch(
        f"/api/v1/screening-hits/{hit.pk}",
        {"status": "dismissed", "comment": "Another person: other birth date"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert screening_factors(api, "P-1") == (0, [])
