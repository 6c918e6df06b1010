import datetime as dt

import pytest

from customers.models import Customer
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


def test_new_version_counts_added_changed_removed(org):
    first = ftm_lines(
        ftm("a", "Person", ["Anna Alpha"]),
        ftm("b", "Person", ["Boris Beta"]),
        ftm("c", "Person", ["Clara Gamma"]),
    )
    second = ftm_lines(
        ftm("a", "Person", ["Anna Alpha"]),  # unchanged
        ftm("b", "Person", ["Boris Beta"], birthDate=["1950"]),  # changed
        ftm("d", "Person", ["Dora Delta"]),  # added
    )
    upload_list(org, first)
    watchlist = upload_list(org, second)
    assert (watchlist.version, watchlist.entry_count) == (2, 3)
    assert (watchlist.added_count, watchlist.changed_count, watchlist.removed_count) == (1, 1, 1)
    versions = dict(WatchlistEntry.objects.values_list("source_id", "version"))
    assert versions == {"a": 1, "b": 2, "d": 2}


def test_a_file_of_neither_format_fails_the_job_and_keeps_the_list(org):
    upload_list(org, SANCTIONS)
    watchlist = upload_list(org, b"name;id\nfoo;bar\n")
    assert watchlist.status == WatchlistStatus.FAILED
    assert watchlist.message.startswith("The file is neither FollowTheMoney JSON lines nor CSV")
    assert (watchlist.version, WatchlistEntry.objects.count()) == (1, 3)


def test_parties_in_both_directions_and_derived_ubos_with_their_role(org):
    upload_list(
        org,
        ftm_lines(
            ftm("e-holding", "Company", ["Sanctioned Holding Ltd"]),
            ftm("e-owner", "Person", ["Ivan Ubovich"]),
            ftm("e-parent", "Company", ["Romashka Group"]),
        ),
    )
    target = CompanyFactory(organisation=org, name="Target Ltd", legal_name="Target Ltd")
    holding = CompanyFactory(organisation=org, name="Sanctioned Holding", legal_name="")
    owner = PersonFactory(
        organisation=org, given_name="Ivan", family_name="Ubovich", name="Ivan Ubovich"
    )
    parent = CompanyFactory(organisation=org, name="Romashka Group", legal_name="")
    ConnectionFactory(
        customer=target, connected_customer=holding, role=Role.SHAREHOLDER, ownership_percentage=80
    )
    ConnectionFactory(
        customer=holding, connected_customer=owner, role=Role.SHAREHOLDER, ownership_percentage=50
    )
    ConnectionFactory(
        customer=parent, connected_customer=target, role=Role.SHAREHOLDER, ownership_percentage=30
    )
    customer_screen(customer=target)
    roles = {
        (hit.party_id, hit.role, hit.entry.source_id)
        for hit in ScreeningHit.objects.filter(customer=target).select_related("entry")
    }
    assert roles == {
        (holding.pk, "SHAREHOLDER", "e-holding"),
        (owner.pk, "DERIVED_UBO", "e-owner"),
        (parent.pk, "SHAREHOLDER_IN", "e-parent"),
    }


def test_new_hits_are_announced(org):
    from kycregistry import events

    seen = []
    events.subscribe(events.ScreeningHitsFound, seen.append)
    try:
        upload_list(org, SANCTIONS)
        person = PersonFactory(
            organisation=org, given_name="Sergei", family_name="Petrov", name="Sergei Petrov"
        )
        customer_screen(customer=person)
        customer_screen(customer=person)  # nothing new the second time
    finally:
        events.unsubscribe(events.ScreeningHitsFound, seen.append)
    hit = ScreeningHit.objects.get(customer=person)
    assert len(seen) == 1
    assert seen[0].hit_ids == (hit.pk,)
    assert seen[0].customer_ids == frozenset({person.pk})


def test_no_match_below_the_organisations_threshold(org):
    upload_list(org, SANCTIONS)
    person = PersonFactory(
        organisation=org, given_name="Sergei", family_name="Petrov", name="Sergei Petrov"
    )
    org.screening_threshold = 1
    org.save()
    person.organisation.refresh_from_db()
    customer_screen(customer=person)
    assert not ScreeningHit.objects.filter(customer=person).exists()


def test_customers_are_never_deleted_by_delete_of_a_list(org):
    from screening.services import watchlist_delete

    watchlist = upload_list(org, SANCTIONS)
    person = PersonFactory(
        organisation=org, given_name="Sergei", family_name="Petrov", name="Sergei Petrov"
    )
    customer_screen(customer=person)
    watchlist_delete(watchlist=watchlist)
    assert not ScreeningHit.objects.exists()
    assert Customer.objects.filter(pk=person.pk).exists()


def test_screen_book_records_hits_through_parties_and_stamps_everyone(
    org, django_assert_max_num_queries
):
    from screening.services import screen_book

    upload_list(org, SANCTIONS)
    company = CompanyFactory(organisation=org, name="Harmless Trading", legal_name="")
    holding = CompanyFactory(organisation=org, name="Quiet Holding", legal_name="")
    director = PersonFactory(
        organisation=org, given_name="Sergey", family_name="Petrov", name="Sergey Petrov"
    )
    bystanders = [PersonFactory(organisation=org) for _ in range(5)]
    ConnectionFactory(customer=company, connected_customer=director, role=Role.DIRECTOR)
    ConnectionFactory(
        customer=company,
        connected_customer=holding,
        role=Role.SHAREHOLDER,
        ownership_percentage=100,
    )
    ConnectionFactory(
        customer=holding,
        connected_customer=director,
        role=Role.SHAREHOLDER,
        ownership_percentage=100,
    )
    run = screen_book(organisation=org)
    roles = {
        (hit.customer_id, hit.role)
        for hit in ScreeningHit.objects.filter(entry__source_id="ru-petrov")
    }
    assert roles == {
        (director.pk, "SELF"),
        (company.pk, "DIRECTOR"),
        (holding.pk, "SHAREHOLDER"),
    }
    assert run.customers == 8
    assert Customer.objects.filter(organisation=org, last_screening_date__isnull=True).count() == 0
    assert not ScreeningHit.objects.filter(customer__in=bystanders).exists()
