"""The outbox and its delivery: signing, rollback, crash recovery, retries, ordering,
disabling, URL safety at delivery time, redirects, secret rotation."""

import json
import random
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from customers.services import customer_deactivate, customer_upsert
from tests.webhooks.factories import EndpointFactory
from tests.webhooks.receiver import Receiver, Reply
from webhooks import sending
from webhooks.delivery import RETRY_DELAYS, deliver_due, retry_delay
from webhooks.models import Delivery, DeliveryStatus
from webhooks.services import endpoint_rotate_secret
from webhooks.tasks import sweep_deliveries

pytestmark = pytest.mark.django_db

PERSON = {"referenceId": "P-1", "name": "Jane Doe", "accountTypeId": 1}


def upsert(org, data=None, *, deliver=True, capture=None):
    """Write a customer and run (or drop, when deliver is False) the commit hooks."""
    with capture(execute=deliver):
        return customer_upsert(organisation=org, data=data or PERSON).customer


def test_signature_verifies_with_the_reference_implementation(
    org, receiver, django_capture_on_commit_callbacks
):
    endpoint = EndpointFactory(
        organisation=org, url=receiver.url, events=["customer.created", "customer.updated"]
    )
    upsert(org, capture=django_capture_on_commit_callbacks)

    (request,) = receiver.requests
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload["type"] == "customer.created"
    assert payload["data"]["referenceId"] == "P-1"
    assert payload["data"]["identity"]["type"] == "individual"
    delivery = Delivery.objects.get()
    assert request.headers["webhook-id"] == delivery.webhook_id
    assert request.headers["content-type"] == "application/json"
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 1
    assert delivery.last_response_status == 200
    assert delivery.delivered_at is not None
    # A tampered body fails verification.
    with pytest.raises(Exception, match="No matching signature found"):
        Webhook(endpoint.secret).verify(request.body + b" ", request.headers)


def test_a_rolled_back_change_sends_nothing(org, receiver, django_capture_on_commit_callbacks):
    EndpointFactory(organisation=org, url=receiver.url)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        customer_upsert(organisation=org, data=PERSON)
        assert set(Delivery.objects.values_list("event_type", flat=True)) == {
            "customer.created",
            "client.created",
            "risk.changed",  # its first score
        }
        raise RuntimeError("the request failed after the write")
    assert callbacks == []
    assert Delivery.objects.count() == 0
    assert receiver.requests == []


def test_an_event_survives_a_crash_between_commit_and_delivery(
    org, receiver, django_capture_on_commit_callbacks
):
    EndpointFactory(organisation=org, url=receiver.url, events=["customer.created"])
    # The process dies right after the commit: the task is never enqueued.
    upsert(org, deliver=False, capture=django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert receiver.requests == []

    assert sweep_deliveries.call() == 1  # the periodic sweep finds it

    (request,) = receiver.requests
    assert request.headers["webhook-id"] == delivery.webhook_id
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


def test_retry_delays_grow_with_bounded_jitter_then_give_up():
    rng = random.Random(7)
    for attempts, base in enumerate(RETRY_DELAYS, start=1):
        delay = retry_delay(attempts, rng=rng)
        assert delay is not None
        assert base <= delay <= base * 1.1
    assert [d.total_seconds() for d in RETRY_DELAYS] == [5, 300, 1800, 7200, 18000, 36000]
    assert retry_delay(len(RETRY_DELAYS) + 1) is None


def test_a_500_is_retried_after_the_backoff_then_delivered(
    org, receiver, django_capture_on_commit_callbacks
):
    receiver.script = [Reply(500, b"down for maintenance")]
    endpoint = EndpointFactory(organisation=org, url=receiver.url, events=["customer.created"])
    upsert(org, deliver=False, capture=django_capture_on_commit_callbacks)
    t0 = timezone.now()

    assert deliver_due(endpoint_id=endpoint.pk, now=t0).delivered == 0
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.last_response_status == 500
    assert delivery.last_response_body == "down for maintenance"
    assert delivery.last_error == "HTTP 500"
    assert t0 + timedelta(seconds=5) <= delivery.next_attempt_at <= t0 + timedelta(seconds=5.5)

    # Not due yet: nothing is sent.
    assert deliver_due(endpoint_id=endpoint.pk, now=t0 + timedelta(seconds=4)).delivered == 0
    assert len(receiver.requests) == 1

    assert deliver_due(endpoint_id=endpoint.pk, now=t0 + timedelta(seconds=6)).delivered == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery.webhook_id] * 2
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None  # the success cleared the failure streak


def test_a_timeout_is_a_failed_attempt(
    org, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(sending, "TOTAL_TIMEOUT", 0.3)
    monkeypatch.setattr(sending, "_pools", {})
    receiver.script = [Reply(200, delay=1.0)]
    endpoint = EndpointFactory(organisation=org, url=receiver.url, events=["customer.created"])
    upsert(org, deliver=False, capture=django_capture_on_commit_callbacks)

    deliver_due(endpoint_id=endpoint.pk)

    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert delivery.last_error == "Timed out."
    assert delivery.last_response_status is None


def test_the_timeouts_are_5_s_to_connect_and_10_s_in_all(monkeypatch):
    monkeypatch.setattr(sending, "_pools", {})
    assert (sending.CONNECT_TIMEOUT, sending.TOTAL_TIMEOUT) == (5.0, 10.0)
    target = sending.Target("https", "hooks.example.com", 443, "93.184.215.14", "/")
    timeout = sending._pool(target).timeout
    assert (timeout.connect_timeout, timeout.total) == (5.0, 10.0)


def test_an_answer_trickling_in_is_cut_at_the_total_timeout(
    org, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    """Each byte comes well within the read timeout, the whole answer would take 6 s:
    the attempt ends at the total timeout."""
    monkeypatch.setattr(sending, "TOTAL_TIMEOUT", 1.0)
    monkeypatch.setattr(sending, "_pools", {})
    receiver.script = [Reply(200, b"x" * 30, drip=0.2)]
    endpoint = EndpointFactory(organisation=org, url=receiver.url, events=["customer.created"])
    upsert(org, deliver=False, capture=django_capture_on_commit_callbacks)

    started = time.monotonic()
    deliver_due(endpoint_id=endpoint.pk)
    assert time.monotonic() - started < 2.5

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.last_error == "Timed out."
    assert delivery.last_response_status is None


def test_the_last_failure_gives_up(org, receiver, django_capture_on_commit_callbacks):
    receiver.default = Reply(503)
    endpoint = EndpointFactory(organisation=org, url=receiver.url, events=["customer.created"])
    upsert(org, deliver=False, capture=django_capture_on_commit_callbacks)
    now = timezone.now()
    for _ in range(len(RETRY_DELAYS) + 1):
        deliver_due(endpoint_id=endpoint.pk, now=now)
        now += timedelta(hours=11)
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 7
    assert delivery.next_attempt_at is None
    assert len(receiver.requests) == 7


def test_one_customers_events_arrive_in_order(org, receiver, django_capture_on_commit_callbacks):
    receiver.script = [Reply(500)]
    endpoint = EndpointFactory(
        organisation=org, url=receiver.url, events=["customer.created", "customer.updated"]
    )
    capture = django_capture_on_commit_callbacks
    upsert(org, deliver=False, capture=capture)
    upsert(org, {**PERSON, "name": "Jane Smith"}, deliver=False, capture=capture)
    upsert(org, {**PERSON, "referenceId": "P-2"}, deliver=False, capture=capture)
    t0 = timezone.now()

    deliver_due(endpoint_id=endpoint.pk, now=t0)  # P-1 created: 500
    # P-1's update waits for its creation; P-2 is not held up by P-1.
    deliver_due(endpoint_id=endpoint.pk, now=t0 + timedelta(seconds=1))
    seen = [
        (json.loads(r.body)["type"], json.loads(r.body)["data"]["referenceId"])
        for r in receiver.requests
    ]
    assert seen == [("customer.created", "P-1"), ("customer.created", "P-2")]

    deliver_due(endpoint_id=endpoint.pk, now=t0 + timedelta(seconds=10))
    seen = [
        (json.loads(r.body)["type"], json.loads(r.body)["data"]["referenceId"])
        for r in receiver.requests
    ]
    assert seen[2:] == [("customer.created", "P-1"), ("customer.updated", "P-1")]
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}


def test_an_endpoint_failing_for_five_days_is_disabled(
    org, receiver, django_capture_on_commit_callbacks
):
    receiver.default = Reply(500)
    now = timezone.now()
    endpoint = EndpointFactory(
        organisation=org,
        url=receiver.url,
        events=["customer.created"],
        failing_since=now - timedelta(days=4, hours=23),
    )
    upsert(org, deliver=False, capture=django_capture_on_commit_callbacks)
    deliver_due(endpoint_id=endpoint.pk, now=now)
    endpoint.refresh_from_db()
    assert endpoint.enabled  # four days and 23 hours: not yet

    later = now + timedelta(hours=2)
    deliver_due(endpoint_id=endpoint.pk, now=later)
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert endpoint.disabled_reason == (
        f"Disabled on {later:%Y-%m-%d %H:%M} UTC: every delivery failed since "
        f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC (last: HTTP 500)."
    )
    assert endpoint.history.first().history_channel == "system"
    # A disabled endpoint gets nothing more.
    sent = len(receiver.requests)
    assert deliver_due(endpoint_id=endpoint.pk, now=later + timedelta(days=1)).delivered == 0
    assert len(receiver.requests) == sent


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.5", "169.254.169.254", "::1"])
def test_a_host_that_now_resolves_to_a_private_address_is_refused_at_delivery(
    org, fake_dns, settings, receiver, django_capture_on_commit_callbacks, address
):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    fake_dns["hooks.example.com"] = [address]  # was public at registration
    endpoint = EndpointFactory(
        organisation=org, url="https://hooks.example.com/kyc", events=["customer.created"]
    )
    upsert(org, deliver=False, capture=django_capture_on_commit_callbacks)

    deliver_due(endpoint_id=endpoint.pk)

    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error == (
        "The host hooks.example.com resolves to a private, loopback, link-local or "
        f"reserved address ({address}): refused."
    )
    assert receiver.requests == []


def test_a_redirect_is_not_followed(org, receiver, django_capture_on_commit_callbacks):
    receiver.script = [Reply(302, b"", headers={"Location": receiver.url + "/elsewhere"})]
    endpoint = EndpointFactory(organisation=org, url=receiver.url, events=["customer.created"])
    upsert(org, deliver=False, capture=django_capture_on_commit_callbacks)

    deliver_due(endpoint_id=endpoint.pk)

    assert [r.path for r in receiver.requests] == ["/hook"]
    delivery = Delivery.objects.get()
    assert delivery.last_response_status == 302
    assert delivery.last_error == "HTTP 302 (redirects are not followed)"
    assert delivery.status == DeliveryStatus.PENDING


def test_only_1_kb_of_the_answer_is_kept(org, receiver, django_capture_on_commit_callbacks):
    receiver.script = [Reply(200, b"x" * 5000)]
    endpoint = EndpointFactory(organisation=org, url=receiver.url, events=["customer.created"])
    upsert(org, deliver=False, capture=django_capture_on_commit_callbacks)
    deliver_due(endpoint_id=endpoint.pk)
    assert Delivery.objects.get().last_response_body == "x" * 1024


def test_after_a_rotation_both_secrets_sign_for_24_hours(
    org, receiver, django_capture_on_commit_callbacks
):
    endpoint = EndpointFactory(organisation=org, url=receiver.url, events=["customer.created"])
    old_secret = endpoint.secret
    t0 = timezone.now()
    new_secret = endpoint_rotate_secret(endpoint=endpoint, now=t0)
    assert new_secret != old_secret and new_secret.startswith("whsec_")
    upsert(org, deliver=False, capture=django_capture_on_commit_callbacks)
    upsert(
        org,
        {**PERSON, "referenceId": "P-2"},
        deliver=False,
        capture=django_capture_on_commit_callbacks,
    )

    deliver_due(endpoint_id=endpoint.pk, now=t0 + timedelta(hours=23))
    first = receiver.requests[0]
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    Webhook(old_secret).verify(first.body, first.headers)
    Webhook(new_secret).verify(first.body, first.headers)

    Delivery.objects.filter(status=DeliveryStatus.DELIVERED).update(
        status=DeliveryStatus.PENDING, next_attempt_at=t0
    )
    deliver_due(endpoint_id=endpoint.pk, now=t0 + timedelta(hours=25))
    last = receiver.requests[-1]
    assert len(last.headers["webhook-signature"].split(" ")) == 1
    Webhook(new_secret).verify(last.body, last.headers)
    with pytest.raises(Exception, match="No matching signature found"):
        Webhook(old_secret).verify(last.body, last.headers)


def test_deactivation_sends_updated_with_changed_fields_and_deactivated(
    org, receiver, django_capture_on_commit_callbacks
):
    customer = upsert(org, deliver=False, capture=django_capture_on_commit_callbacks)
    EndpointFactory(
        organisation=org,
        url=receiver.url,
        events=["customer.updated", "customer.deactivated"],
    )
    with django_capture_on_commit_callbacks(execute=True):
        customer_deactivate(customer=customer)
    bodies = [json.loads(r.body) for r in receiver.requests]
    assert [b["type"] for b in bodies] == ["customer.updated", "customer.deactivated"]
    assert bodies[0]["data"]["changedFields"] == ["status"]
    assert bodies[1]["data"]["status"] == "inactive"
    assert "changedFields" not in bodies[1]["data"]


def test_changed_fields_use_the_api_names(org, receiver, django_capture_on_commit_callbacks):
    upsert(org, deliver=False, capture=django_capture_on_commit_callbacks)
    EndpointFactory(organisation=org, url=receiver.url, events=["customer.updated"])
    data = {
        **PERSON,
        "externalId": "EXT-9",
        "identity": {"givenName": "Janet", "familyName": "Doe"},
        "profile": {"residentialAddress": {"country": "GB", "city": "London"}},
    }
    upsert(org, data, capture=django_capture_on_commit_callbacks)
    (request,) = receiver.requests
    assert json.loads(request.body)["data"]["changedFields"] == [
        "externalId",
        "identity.familyName",
        "identity.givenName",
        "profile.residentialAddress",
    ]


def test_writes_without_a_subscribed_endpoint_write_no_outbox_rows(
    org, other_org, django_capture_on_commit_callbacks
):
    EndpointFactory(organisation=other_org, events=["*"])  # another tenant's
    EndpointFactory(organisation=org, events=["connection.created"])  # other types
    EndpointFactory(organisation=org, events=["*"], enabled=False)
    upsert(org, capture=django_capture_on_commit_callbacks)
    assert Delivery.objects.count() == 0


def test_a_dead_endpoint_costs_one_attempt_per_run(
    org, receiver, django_capture_on_commit_callbacks
):
    receiver.default = Reply(500)
    endpoint = EndpointFactory(organisation=org, url=receiver.url, events=["customer.created"])
    for n in range(3):
        upsert(
            org,
            {**PERSON, "referenceId": f"P-{n}"},
            deliver=False,
            capture=django_capture_on_commit_callbacks,
        )
    result = deliver_due(endpoint_id=endpoint.pk)
    assert (result.delivered, len(receiver.requests)) == (0, 1)
    # The others were handed back, due at once for the next run (or another worker).
    due = Delivery.objects.filter(attempts=0, next_attempt_at__lte=timezone.now())
    assert due.count() == 2


def test_a_slow_endpoint_does_not_hold_up_another(
    org, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    """Each endpoint is sent by its own task: the slow one times out on its own, and
    the other gets every delivery."""
    monkeypatch.setattr(sending, "TOTAL_TIMEOUT", 0.3)
    monkeypatch.setattr(sending, "_pools", {})
    with Receiver() as slow:
        slow.default = Reply(200, delay=1.0)
        stuck = EndpointFactory(organisation=org, url=slow.url, events=["customer.created"])
        EndpointFactory(organisation=org, url=receiver.url, events=["customer.created"])
        for n in range(3):
            upsert(
                org, {**PERSON, "referenceId": f"P-{n}"}, capture=django_capture_on_commit_callbacks
            )

        assert len(receiver.requests) == 3
        pending = Delivery.objects.filter(endpoint=stuck, status=DeliveryStatus.PENDING)
        assert pending.count() == 3
        assert {d.last_error for d in pending if d.attempts} == {"Timed out."}
