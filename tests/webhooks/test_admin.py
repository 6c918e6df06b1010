"""Webhook endpoints and the delivery log in the admin."""

import pytest

from tests.admin_support import ANALYST, make_staff
from tests.webhooks.factories import EndpointFactory
from webhooks.models import Delivery, DeliveryStatus, Endpoint

pytestmark = pytest.mark.django_db

ENDPOINTS = "/admin/webhooks/endpoint/"
DELIVERIES = "/admin/webhooks/delivery/"


@pytest.fixture
def officer_client(client, org):
    client.force_login(make_staff(org, username="officer"))
    return client


def test_created_endpoint_shows_its_secret_once(officer_client, org, local_urls):
    response = officer_client.post(
        f"{ENDPOINTS}add/",
        {"url": "http://127.0.0.1:9/hook", "events": ["customer.created"], "enabled": "on"},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    endpoint = Endpoint.objects.get()
    assert endpoint.organisation == org
    assert endpoint.events == ["customer.created"]
    content = response.content.decode()
    code = '<code id="webhook-secret-value" class="secret-value">'
    assert f"{code}{endpoint.secret}</code>" in content
    for url in [
        ENDPOINTS,
        f"{ENDPOINTS}{endpoint.pk}/change/",
        f"{ENDPOINTS}{endpoint.pk}/history/",
    ]:
        assert endpoint.secret not in officer_client.get(url).content.decode()
    assert endpoint.history.get().history_channel == "admin"


def test_a_private_url_is_a_form_error(officer_client, fake_dns):
    fake_dns["intranet.example.com"] = ["192.168.1.10"]
    response = officer_client.post(
        f"{ENDPOINTS}add/", {"url": "https://intranet.example.com/", "events": ["*"]}
    )
    assert response.status_code == 200
    assert (
        "The host intranet.example.com resolves to a private, loopback, link-local or "
        "reserved address (192.168.1.10): refused."
    ) in response.content.decode()
    assert not Endpoint.objects.exists()


def test_rotate_action_shows_the_new_secret(officer_client, org):
    endpoint = EndpointFactory(organisation=org)
    old = endpoint.secret
    response = officer_client.post(
        ENDPOINTS, {"action": "rotate_secret", "_selected_action": [str(endpoint.pk)]}
    )
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert endpoint.secret in response.content.decode()


def test_ping_and_retry_actions_send_through_the_worker(
    officer_client, org, receiver, django_capture_on_commit_callbacks
):
    endpoint = EndpointFactory(organisation=org, url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        officer_client.post(
            ENDPOINTS, {"action": "send_test_ping", "_selected_action": [str(endpoint.pk)]}
        )
    ping = Delivery.objects.get()
    assert ping.status == DeliveryStatus.DELIVERED
    assert len(receiver.requests) == 1

    with django_capture_on_commit_callbacks(execute=True):
        officer_client.post(
            DELIVERIES, {"action": "retry_selected", "_selected_action": [str(ping.pk)]}
        )
    assert [r.headers["webhook-id"] for r in receiver.requests] == [ping.webhook_id] * 2
    ping.refresh_from_db()
    assert ping.attempts == 2


def test_delivery_log_is_the_tenants_with_filters_and_payloads(client, org, other_org):
    mine = EndpointFactory(organisation=org, url="https://mine.example.com/")
    theirs = EndpointFactory(organisation=other_org, url="https://theirs.example.com/")
    delivery = Delivery.objects.create(
        organisation=org, endpoint=mine, event_type="ping", body='{"type":"ping","data":{}}'
    )
    hidden = Delivery.objects.create(
        organisation=other_org, endpoint=theirs, event_type="ping", body="{}"
    )
    client.force_login(make_staff(org, username="analyst", group=ANALYST))
    page = client.get(DELIVERIES).content.decode()
    assert delivery.webhook_id in page
    assert hidden.webhook_id not in page
    assert "theirs.example.com" not in page  # not even in the endpoint filter
    assert "mine.example.com" in page
    assert 'name="action"' not in page  # analysts may not retry
    detail = client.get(f"{DELIVERIES}{delivery.pk}/change/").content.decode()
    assert '<pre class="webhook-payload">{\n  &quot;type&quot;: &quot;ping&quot;' in detail
    assert client.get(f"{DELIVERIES}{hidden.pk}/change/").status_code == 302
