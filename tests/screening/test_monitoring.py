"""The monitoring schedule, with the clock passed in (`now`)."""

import datetime as dt

import pytest
from django.test import override_settings

from customers.models import Customer
from relations.models import Role
from relations.services import connection_add
from relations.validation import ConnectItem
from screening.models import ScreeningHit
from screening.services import customer_monitor_start, customer_monitor_stop, screen_due
from tests.factories import CompanyFactory, PersonFactory
from tests.screening.factories import SANCTIONS, ftm, ftm_lines, upload_list

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_monitor_screens_at_once_and_schedules_by_frequency(org):
    upload_list(org, SANCTIONS)
    person = PersonFactory(
        organisation=org, given_name="Sergei", family_name="Petrov", name="Sergei Petrov"
    )
    customer_monitor_start(customer=person, frequency="weekly", now=T0)
    person.refresh_from_db()
    assert (person.monitored, person.monitoring_frequency) == (True, "weekly")
    assert person.last_screening_date == T0
    assert person.next_screening_at == T0 + dt.timedelta(days=7)
    assert ScreeningHit.objects.filter(customer=person).count() == 1


def test_due_customers_are_screened_and_the_others_not(org):
    daily = PersonFactory(organisation=org, name="Daily Person")
    weekly = PersonFactory(organisation=org, name="Weekly Person")
    unmonitored = PersonFactory(organisation=org, name="Other Person")
    customer_monitor_start(customer=daily, now=T0)
    customer_monitor_start(customer=weekly, frequency="weekly", now=T0)
    later = T0 + dt.timedelta(days=1, minutes=1)
    assert screen_due(now=later) == 1
    for customer in (daily, weekly, unmonitored):
        customer.refresh_from_db()
    assert daily.last_screening_date == later
    assert daily.next_screening_at == later + dt.timedelta(days=1)
    assert weekly.last_screening_date == T0
    assert unmonitored.last_screening_date is None
    assert screen_due(now=later) == 0
    assert screen_due(now=T0 + dt.timedelta(days=8)) == 2


def test_stopped_monitoring_is_not_due(org):
    person = PersonFactory(organisation=org)
    customer_monitor_start(customer=person, now=T0)
    customer_monitor_stop(customer=person)
    person.refresh_from_db()
    assert (person.monitored, person.monitoring_frequency, person.next_screening_at) == (
        False,
        "",
        None,
    )
    assert screen_due(now=T0 + dt.timedelta(days=40)) == 0


def test_a_new_list_version_screens_monitored_customers_at_once(org):
    upload_list(org, ftm_lines(ftm("x", "Person", ["Nobody Atall"])))
    monitored = PersonFactory(
        organisation=org, given_name="Sergei", family_name="Petrov", name="Sergei Petrov"
    )
    other = PersonFactory(
        organisation=org, given_name="Sergei", family_name="Petrov", name="Sergei Petrov"
    )
    customer_monitor_start(customer=monitored, now=T0)
    upload_list(org, SANCTIONS)
    assert ScreeningHit.objects.filter(customer=monitored).count() == 1
    assert not ScreeningHit.objects.filter(customer=other).exists()


def test_a_monitored_director_is_rescreened_when_connected(org, django_capture_on_commit_callbacks):
    upload_list(org, SANCTIONS)
    company = CompanyFactory(organisation=org, name="Plain Company", legal_name="")
    director = PersonFactory(
        organisation=org, given_name="Sergei", family_name="Petrov", name="Sergei Petrov"
    )
    customer_monitor_start(customer=company, now=T0)
    assert not ScreeningHit.objects.filter(customer=company).exists()
    with django_capture_on_commit_callbacks(execute=True):
        connection_add(
            customer=company,
            item=ConnectItem(reference_id=director.reference_id, role=Role.DIRECTOR),
        )
    hit = ScreeningHit.objects.get(customer=company)
    assert (hit.party_id, hit.role) == (director.pk, "DIRECTOR")


def test_every_monitored_customer_of_a_large_write_is_rescreened(
    org, other_org, monkeypatch, django_capture_on_commit_callbacks
):
    """The monitored ones are looked up chunk by chunk, none left out past the first,
    and only among the writer's organisation."""
    from kycregistry import events
    from screening import reactions

    monkeypatch.setattr(reactions, "LOOKUP_CHUNK", 2)
    upload_list(org, SANCTIONS)
    people = [PersonFactory(organisation=org, name=f"Plain Person {n}") for n in range(4)]
    last = PersonFactory(
        organisation=org, given_name="Ivan", family_name="Harmless", name="Ivan Harmless"
    )
    customer_monitor_start(customer=last, now=T0)
    assert not ScreeningHit.objects.filter(customer=last).exists()
    # Renamed behind the services' back: only the rescreen can find the hit now.
    Customer.objects.filter(pk=last.pk).update(
        given_name="Sergei", family_name="Petrov", name="Sergei Petrov"
    )
    outsider = PersonFactory(organisation=other_org, name="Plain Outsider")
    customer_monitor_start(customer=outsider, now=T0)
    screened_at = Customer.objects.get(pk=outsider.pk).last_screening_date
    ids = frozenset(p.pk for p in [*people, last, outsider])
    with django_capture_on_commit_callbacks(execute=True):
        events.announce(
            events.ConnectionsChanged(organisation_id=org.pk, customer_ids=ids, holder_ids=ids)
        )
    assert ScreeningHit.objects.filter(customer=last).count() == 1
    assert Customer.objects.get(pk=outsider.pk).last_screening_date == screened_at


def test_a_renamed_monitored_customer_is_rescreened(org, django_capture_on_commit_callbacks):
    from customers.services import customer_update

    upload_list(org, SANCTIONS)
    person = PersonFactory(
        organisation=org, given_name="Ivan", family_name="Harmless", name="Ivan Harmless"
    )
    customer_monitor_start(customer=person, now=T0)
    with django_capture_on_commit_callbacks(execute=True):
        customer_update(customer=person, data={"name": "Sergei Petrov"})
    assert ScreeningHit.objects.filter(customer=person).count() == 1
    assert Customer.objects.get(pk=person.pk).last_screening_date > T0


def test_a_renamed_customer_not_monitored_is_not_looked_up_again(
    org, django_capture_on_commit_callbacks, django_assert_num_queries
):
    """The writer's instance, read under its lock, says it is not monitored."""
    from customers.services import customer_update

    person = PersonFactory(organisation=org, name="Ivan Harmless")
    with django_capture_on_commit_callbacks() as callbacks:
        customer_update(customer=person, data={"name": "Sergei Petrov"})
    with django_assert_num_queries(0):
        for callback in callbacks:
            callback()


@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})
def test_the_schedule_enqueues_itself_once():
    from django.tasks import task_backends
    from django_tasks_db.models import DBTaskResult

    from screening.tasks import ensure_monitoring_scheduled, run_monitoring

    task_backends._settings = None  # type: ignore[attr-defined]
    try:
        assert ensure_monitoring_scheduled() is True
        assert ensure_monitoring_scheduled() is False
        waiting = DBTaskResult.objects.get(task_path=run_monitoring.module_path)
        assert waiting.status == "READY"
        assert waiting.run_after is not None
    finally:
        task_backends._settings = None  # type: ignore[attr-defined]
