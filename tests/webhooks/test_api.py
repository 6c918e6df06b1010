import json

import pytest
from standardwebhooks import Webhook

from tests.webhooks.factories import EndpointFactory
from webhooks.models import Delivery, DeliveryStatus, Endpoint

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks"


def create(api, **body):
    return api.post(
        URL, {"url": "https://hooks.example.com/kyc", "events": ["*"], **body}, format="json"
    )


@pytest.fixture
def dns(fake_dns):
    fake_dns["hooks.example.com"] = ["93.184.215.14"]
    fake_dns["internal.example.com"] = ["10.1.2.3"]
    fake_dns["127.0.0.1"] = ["127.0.0.1"]
    fake_dns["169.254.169.254"] = ["169.254.169.254"]
    return fake_dns


def test_create_answers_with_the_secret_once(api, org, dns):
    response = create(api, description="core banking", events=["customer.created"])
    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "Webhook endpoint created successfully"
    data = body["data"]
    assert data["url"] == "https://hooks.example.com/kyc"
    assert data["events"] == ["customer.created"]
    assert data["enabled"] is True
    assert data["includeImportEvents"] is False
    assert data["createdAt"].endswith("Z")
    assert data["secret"].startswith("whsec_") and len(data["secret"]) >= 6 + 32
    endpoint = Endpoint.objects.get()
    assert endpoint.organisation == org
    assert data["id"] == str(endpoint.pk)
    assert data["secret"] == endpoint.secret

    detail = api.get(f"{URL}/{endpoint.pk}").json()["data"]
    assert "secret" not in detail
    listed = api.get(URL).json()
    assert listed["meta"]["totalElements"] == 1
    assert "secret" not in listed["data"][0]
    # History names the key, never the secret.
    record = endpoint.history.get()
    assert record.history_api_key_id == api.api_key.pk
    assert not hasattr(record, "secret")


def test_unknown_event_types_are_named(api, dns):
    response = create(api, events=["customer.created", "customer.exploded", "nope"])
    assert response.status_code == 400
    message = (
        "Unknown event type(s): customer.exploded, nope. Known: customer.created, "
        "customer.updated, customer.deactivated, connection.created, connection.updated, "
        "connection.removed, bulk_upload.completed, client.created, "
        "client.connection-created, session.updated, risk.changed, screening.hit, or *."
    )
    assert response.json() == {
        "message": f"events: {message}",
        "error": "Bad Request",
        "statusCode": 400,
        "errors": {"events": [message]},
    }


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/kyc", "The URL must use https (http is not allowed)."),
        ("ftp://hooks.example.com/kyc", "The URL must start with https://."),
        (
            "https://internal.example.com/kyc",
            "The host internal.example.com resolves to a private, loopback, link-local or "
            "reserved address (10.1.2.3): refused.",
        ),
        (
            "https://127.0.0.1:8443/kyc",
            "The host 127.0.0.1 resolves to a private, loopback, link-local or reserved "
            "address (127.0.0.1): refused.",
        ),
        (
            "https://169.254.169.254/latest",
            "The host 169.254.169.254 resolves to a private, loopback, link-local or "
            "reserved address (169.254.169.254): refused.",
        ),
        ("https://nowhere.example.com/", "The host nowhere.example.com does not resolve."),
    ],
)
def test_unsafe_urls_are_refused_at_registration(api, dns, url, message):
    response = create(api, url=url)
    assert response.status_code == 400
    assert response.json()["errors"] == {"url": [message]}
    assert Endpoint.objects.count() == 0


def test_settings_allow_http_and_private_urls(api, dns, settings):
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    response = create(api, url="http://internal.example.com/kyc")
    assert response.status_code == 201


def test_debug_allows_http_but_not_private_urls(api, dns, settings):
    settings.DEBUG = True
    assert create(api, url="http://hooks.example.com/kyc").status_code == 201
    refused = create(api, url="http://internal.example.com/kyc")
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "url": [
            "The host internal.example.com resolves to a private, loopback, link-local or "
            "reserved address (10.1.2.3): refused."
        ]
    }


def test_patch_and_delete(api, org, dns):
    endpoint = EndpointFactory(organisation=org, enabled=False, disabled_reason="Dead")
    response = api.patch(
        f"{URL}/{endpoint.pk}",
        {"enabled": True, "events": ["connection.created"], "includeImportEvents": True},
        format="json",
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["enabled"] is True and data["disabledReason"] is None
    assert data["events"] == ["connection.created"]
    assert data["includeImportEvents"] is True

    bad = api.patch(f"{URL}/{endpoint.pk}", {"enabled": "yes"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["message"] == "enabled: Must be true or false."

    response = api.delete(f"{URL}/{endpoint.pk}")
    assert response.status_code == 200
    assert response.json()["message"] == "Webhook endpoint deleted successfully"
    assert not Endpoint.objects.exists()
    # Both writes are in the history, by the key, through the API.
    records = Endpoint.history.filter(id=endpoint.pk).order_by("history_id")
    assert [(r.history_type, r.history_channel, r.history_api_key_id) for r in records][1:] == [
        ("~", "api", api.api_key.pk),
        ("-", "api", api.api_key.pk),
    ]


def test_rotate_secret_shows_the_new_one(api, org, dns):
    endpoint = EndpointFactory(organisation=org)
    old = endpoint.secret
    response = api.post(f"{URL}/{endpoint.pk}/rotate-secret")
    assert response.status_code == 200
    secret = response.json()["data"]["secret"]
    endpoint.refresh_from_db()
    assert secret == endpoint.secret != old
    assert endpoint.previous_secret == old
    rotated = endpoint.history.first()
    assert (rotated.history_type, rotated.history_api_key_id) == ("~", api.api_key.pk)


def test_test_ping_and_the_delivery_log(api, org, receiver, django_capture_on_commit_callbacks):
    endpoint = EndpointFactory(organisation=org, url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{URL}/{endpoint.pk}/test")
    assert response.status_code == 202
    assert response.json()["message"] == "Webhook ping queued"
    webhook_id = response.json()["data"]["id"]
    (request,) = receiver.requests
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload["type"] == "ping"
    assert payload["data"] == {"endpointId": str(endpoint.pk), "url": receiver.url}
    assert request.headers["webhook-id"] == webhook_id

    log = api.get(f"{URL}/{endpoint.pk}/deliveries").json()
    assert log["meta"]["totalElements"] == 1
    (item,) = log["data"]
    assert item["id"] == webhook_id
    assert item["eventType"] == "ping"
    assert item["status"] == "delivered"
    assert item["attempts"] == 1
    assert item["lastResponseStatus"] == 200
    assert item["lastError"] is None
    assert item["nextAttemptAt"] is None
    assert item["deliveredAt"].endswith("Z")
    assert item["payload"] == json.loads(request.body)


def test_delivery_log_filters_by_status(api, org, django_assert_num_queries):
    endpoint = EndpointFactory(organisation=org)
    for status in ("pending", "delivered", "delivered", "failed"):
        Delivery.objects.create(
            organisation=org, endpoint=endpoint, event_type="ping", body="{}", status=status
        )
    api.get(URL)  # the key's first request in a minute also records lastUsedAt
    with django_assert_num_queries(4):  # key, endpoint, count, page
        response = api.get(f"{URL}/{endpoint.pk}/deliveries?status=delivered")
    assert [d["status"] for d in response.json()["data"]] == ["delivered", "delivered"]
    bad = api.get(f"{URL}/{endpoint.pk}/deliveries?status=lost")
    assert bad.status_code == 400
    assert bad.json()["message"] == "status: Must be one of: pending, delivered, failed."
    empty = api.get(f"{URL}/{endpoint.pk}/deliveries?status=")
    assert empty.status_code == 400
    assert empty.json()["message"] == "status: Must be one of: pending, delivered, failed."


def test_retry_sends_again_with_the_same_webhook_id(
    api, org, receiver, django_capture_on_commit_callbacks
):
    endpoint = EndpointFactory(organisation=org, url=receiver.url)
    delivery = Delivery.objects.create(
        organisation=org,
        endpoint=endpoint,
        event_type="ping",
        body='{"type":"ping"}',
        status=DeliveryStatus.FAILED,
        attempts=7,
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{URL}/{endpoint.pk}/deliveries/{delivery.webhook_id}/retry")
    assert response.status_code == 202
    (request,) = receiver.requests
    assert request.headers["webhook-id"] == delivery.webhook_id
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 8)

    missing = api.post(f"{URL}/{endpoint.pk}/deliveries/msg_nope/retry")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Webhook delivery not found"


def _paths(endpoint, delivery):
    base = f"{URL}/{endpoint.pk}"
    return [
        ("get", URL),
        ("post", URL),
        ("get", base),
        ("patch", base),
        ("delete", base),
        ("post", f"{base}/rotate-secret"),
        ("post", f"{base}/test"),
        ("get", f"{base}/deliveries"),
        ("post", f"{base}/deliveries/{delivery.webhook_id}/retry"),
    ]


def test_every_endpoint_needs_the_webhooks_manage_scope(readonly_api, org):
    endpoint = EndpointFactory(organisation=org)
    delivery = Delivery.objects.create(
        organisation=org, endpoint=endpoint, event_type="ping", body="{}"
    )
    for method, path in _paths(endpoint, delivery):
        response = getattr(readonly_api, method)(path, {}, format="json")
        assert response.status_code == 403, (method, path)
        assert response.json()["message"] == "This API key lacks the webhooks:manage scope."


def test_another_organisations_endpoints_do_not_exist(outsider_api, org):
    endpoint = EndpointFactory(organisation=org)
    delivery = Delivery.objects.create(
        organisation=org, endpoint=endpoint, event_type="ping", body="{}"
    )
    for method, path in _paths(endpoint, delivery)[2:]:
        response = getattr(outsider_api, method)(path, {}, format="json")
        assert response.status_code == 404, (method, path)
        assert response.json()["message"] == "Webhook endpoint not found"
    assert outsider_api.get(URL).json()["data"] == []
    assert Endpoint.objects.filter(pk=endpoint.pk, enabled=True).exists()


def test_list_query_count_is_constant(api, org, django_assert_num_queries):
    for n in range(3):
        EndpointFactory(organisation=org, url=f"https://hooks.example.com/{n}")
    api.get(URL)  # the key's first request in a minute also records lastUsedAt
    with django_assert_num_queries(3):  # key, count, page
        response = api.get(URL)
    assert len(response.json()["data"]) == 3


def test_the_schema_documents_the_endpoints(api):
    paths = api.get("/api/v1/schema/?format=json").json()["paths"]
    documented = {
        path: sorted(set(operations) & {"get", "post", "patch", "delete"})
        for path, operations in paths.items()
        if path.startswith(URL)
    }
    base = f"{URL}/{{endpoint_id}}"
    assert documented == {
        URL: ["get", "post"],
        base: ["delete", "get", "patch"],
        f"{base}/rotate-secret": ["post"],
        f"{base}/test": ["post"],
        f"{base}/deliveries": ["get"],
        f"{base}/deliveries/{{delivery_id}}/retry": ["post"],
    }
    parameters = paths[f"{base}/deliveries"]["get"]["parameters"]
    status = next(p for p in parameters if p["name"] == "status")
    assert status["schema"]["enum"] == ["delivered", "failed", "pending"]
