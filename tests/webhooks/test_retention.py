"""Deliveries are kept WEBHOOKS_RETENTION_DAYS from their event, then the sweep
deletes the delivered and failed ones; pending ones stay whatever their age."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.webhooks.factories import EndpointFactory
from webhooks import delivery as delivery_module
from webhooks.delivery import prune_deliveries
from webhooks.models import Delivery, DeliveryStatus
from webhooks.tasks import sweep_deliveries

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def delivery(endpoint, *, status, days_old):
    row = Delivery.objects.create(
        organisation=endpoint.organisation,
        endpoint=endpoint,
        event_type="ping",
        body="{}",
        status=status,
        next_attempt_at=NOW + timedelta(days=1) if status == DeliveryStatus.PENDING else None,
    )
    Delivery.objects.filter(pk=row.pk).update(created_at=NOW - timedelta(days=days_old))
    return row.pk


@pytest.fixture
def endpoint(org):
    return EndpointFactory(organisation=org)


def test_old_delivered_and_failed_deliveries_are_deleted_pending_and_recent_kept(
    endpoint, settings
):
    settings.WEBHOOKS_RETENTION_DAYS = 30
    old_delivered = delivery(endpoint, status=DeliveryStatus.DELIVERED, days_old=31)
    old_failed = delivery(endpoint, status=DeliveryStatus.FAILED, days_old=40)
    old_pending = delivery(endpoint, status=DeliveryStatus.PENDING, days_old=45)
    recent_delivered = delivery(endpoint, status=DeliveryStatus.DELIVERED, days_old=29)
    recent_failed = delivery(endpoint, status=DeliveryStatus.FAILED, days_old=1)

    assert prune_deliveries(now=NOW) == 2

    kept = set(Delivery.objects.values_list("pk", flat=True))
    assert kept == {old_pending, recent_delivered, recent_failed}
    assert not kept & {old_delivered, old_failed}
    assert prune_deliveries(now=NOW) == 0  # nothing more to do


def test_a_retention_of_zero_keeps_everything(endpoint, settings):
    settings.WEBHOOKS_RETENTION_DAYS = 0
    delivery(endpoint, status=DeliveryStatus.DELIVERED, days_old=400)
    assert prune_deliveries(now=NOW) == 0
    assert Delivery.objects.count() == 1


def test_a_run_deletes_a_bounded_number_of_batches_and_the_next_goes_on(
    endpoint, settings, monkeypatch
):
    settings.WEBHOOKS_RETENTION_DAYS = 30
    monkeypatch.setattr(delivery_module, "PRUNE_BATCH", 2)
    monkeypatch.setattr(delivery_module, "PRUNE_BATCHES_PER_RUN", 2)
    for _ in range(5):
        delivery(endpoint, status=DeliveryStatus.DELIVERED, days_old=60)
    young = delivery(endpoint, status=DeliveryStatus.DELIVERED, days_old=0)

    assert prune_deliveries(now=NOW) == 4
    assert prune_deliveries(now=NOW) == 1
    assert list(Delivery.objects.values_list("pk", flat=True)) == [young]


def test_the_periodic_sweep_prunes(endpoint, settings):
    settings.WEBHOOKS_RETENTION_DAYS = 30
    delivery(endpoint, status=DeliveryStatus.DELIVERED, days_old=90)
    sweep_deliveries.call()
    assert not Delivery.objects.exists()
