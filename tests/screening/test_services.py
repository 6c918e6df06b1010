import datetime as dt

import pytest

from relations.models import Role
from screening.models import HitStatus, ScreeningHit, WatchlistEntry, WatchlistStatus
from screening.services import customer_screen, hit_review
from tests.factories import CompanyFactory, ConnectionFactory, PersonFactory
from tests.screening.factories import SANCTIONS, ftm, ftm_lines, upload_list

pytestmark = pytest.mark.django_db


def test_import_counts_and_skipped_schemas(org):
    watchlist = upload_list(org, SANCTIONS)
    assert watchlist.status == WatchlistStatus.COMPLETED, watchlist.message
    assert (watchlist.version, watchlist.entry_count, watchlist.added_count) == (1, 3, 3)
    assert watchlist.skipped_count == 1
    entry = WatchlistEntry.objects.get(source_id="ru-petrov")
    assert entry.birth_dates == ["1970-05-12"]
    assert entry.countries == ["ru"]
    assert entry.topics == ["sanction"]


def test_director_found_through_connection(org):
    upload_list(org, SANCTIONS)
    company = CompanyFactory(
        organisation=org, name="Harmless Trading", legal_name="Harmless Trading"
    )
    director = PersonFactory(
        organisation=org,
        given_name="Sergey",
        family_name="Petrov",
        name="Sergey Petrov",
        birth_date=dt.date(1970, 5, 12),
    )
    ConnectionFactory(customer=company, connected_customer=director, role=Role.DIRECTOR)
    run = customer_screen(customer=company)
    hit = ScreeningHit.objects.get(customer=company)
    assert run.created == [hit.pk]
    assert (hit.party_id, hit.role, hit.entry.source_id) == (director.pk, "DIRECTOR", "ru-petrov")
    assert hit.explanation["birthDate"] == "match"
    assert hit.score >= 0.9
    company.refresh_from_db()
    assert company.last_screening_date is not None


def test_dismissed_stays_dismissed_until_entry_changes(org):
    upload_list(org, SANCTIONS)
    person = PersonFactory(
        organisation=org, given_name="Sergei", family_name="Petrov", name="Sergei Petrov"
    )
    customer_screen(customer=person)
    hit = ScreeningHit.objects.get(customer=person)
    hit_review(hit=hit, data={"status": "dismissed", "comment": "Other person"})
    customer_screen(customer=person)
    hit.refresh_from_db()
    assert hit.status == HitStatus.DISMISSED
    assert ScreeningHit.objects.filter(customer=person).count() == 1
    changed = ftm_lines(
        ftm(
            "ru-petrov", "Person", ["Сергей Иванович Петров", "Sergei Petrov"], topics=["sanction"]
        ),
    )
    upload_list(org, changed)
    customer_screen(customer=person)
    hit.refresh_from_db()
    assert hit.status == HitStatus.OPEN
