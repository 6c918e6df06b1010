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


def test_a_hit_whose_entry_leaves_the_list_no_longer_scores(api, org):
    from screening.models import ScreeningHit
    from tests.screening.factories import SANCTIONS, ftm, ftm_lines, upload_list

    upload_list(org, SANCTIONS)
    person = PersonFactory(
        organisation=org,
        reference_id="P-1",
        given_name="Sergey",
        family_name="Petrov",
        name="Sergey Petrov",
    )
    response = api.post("/api/v1/customers/P-1/screen")
    assert response.status_code == 200, response.json()
    hit = ScreeningHit.objects.get(customer=person)
    api.patch(f"/api/v1/screening-hits/{hit.pk}", {"status": "confirmed"}, format="json")
    assert screening_factors(api, "P-1")[0] == 50

    # The next version of the list no longer names him: the hit goes, so do its points.
    upload_list(org, ftm_lines(ftm("ru-romashka", "Company", ["ООО Ромашка"])))
    assert not ScreeningHit.objects.filter(customer=person).exists()
    assert screening_factors(api, "P-1") == (0, [])


def test_deleting_a_list_rescores_the_customers_it_hit(api, org):
    from screening.models import Watchlist

    person = PersonFactory(organisation=org, reference_id="P-1", name="Sergei Petrov")
    hit = screening_hit_for(person)
    customers_rescore(organisation_id=org.pk, ids=[person.pk], why="test")
    assert screening_factors(api, "P-1")[0] == 10
    watchlist = Watchlist.objects.get(pk=hit.entry.watchlist_id)
    response = api.delete(f"/api/v1/watchlists/{watchlist.pk}")
    assert response.status_code == 200, response.json()
    assert screening_factors(api, "P-1") == (0, [])
