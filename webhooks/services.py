"""Writes of webhook endpoints and deliveries (the API and the admin call these)."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from organisations.models import Organisation
from webhooks.delivery import SECRET_OVERLAP
from webhooks.models import (
    ALL_EVENTS,
    Delivery,
    DeliveryStatus,
    Endpoint,
    EventType,
    new_secret,
)
from webhooks.netguard import UnsafeUrl, check_url
from webhooks.outbox import Message, enqueue_delivery, outbox_write
from webhooks.payloads import event_body

# Types an endpoint may subscribe to (ping is sent on request, to one endpoint).
SUBSCRIBABLE = [t.value for t in EventType if t != EventType.PING]
FIELDS = {
    "url": "url",
    "events": "events",
    "description": "description",
    "enabled": "enabled",
    "includeImportEvents": "include_import_events",
}


def _clean(data: Any, *, partial: bool) -> dict[str, Any]:
    """The model values of an endpoint body (API names), or ValidationError naming
    each wrong field."""
    if not isinstance(data, Mapping):
        raise ValidationError("The body must be a JSON object.")
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for required in ("url", "events"):
        if not partial and required not in data:
            errors[required] = ["This field is required."]
    if "url" in data:
        url = data["url"]
        if not isinstance(url, str) or not url.strip():
            errors["url"] = ["Must be a URL."]
        elif len(url) > 2000:
            errors["url"] = ["At most 2000 characters."]
        else:
            try:
                check_url(url.strip())
                values["url"] = url.strip()
            except UnsafeUrl as exc:
                errors["url"] = [exc.message]
    if "events" in data:
        events = data["events"]
        if (
            not isinstance(events, list)
            or not events
            or not all(isinstance(e, str) for e in events)
        ):
            errors["events"] = ['A non-empty list of event types, or ["*"].']
        else:
            unknown = [e for e in events if e != ALL_EVENTS and e not in SUBSCRIBABLE]
            if unknown:
                errors["events"] = [
                    f"Unknown event type(s): {', '.join(unknown)}. "
                    f"Known: {', '.join(SUBSCRIBABLE)}, or *."
                ]
            else:
                values["events"] = [ALL_EVENTS] if ALL_EVENTS in events else sorted(set(events))
    if "description" in data:
        description = data["description"]
        if description is None:
            values["description"] = ""
        elif not isinstance(description, str) or len(description) > 500:
            errors["description"] = ["A text of at most 500 characters."]
        else:
            values["description"] = description
    for key in ("enabled", "includeImportEvents"):
        if key in data:
            if not isinstance(data[key], bool):
                errors[key] = ["Must be true or false."]
            else:
                values[FIELDS[key]] = data[key]
    if errors:
        raise ValidationError(errors)
    return values


@transaction.atomic
def endpoint_create(*, organisation: Organisation, data: Any) -> tuple[Endpoint, str]:
    """A new endpoint and its secret (the only time the secret is handed out)."""
    values = _clean(data, partial=False)
    endpoint = Endpoint(organisation=organisation, **values)
    endpoint.full_clean()
    endpoint.save()
    return endpoint, endpoint.secret


@transaction.atomic
def endpoint_update(*, endpoint: Endpoint, data: Any) -> Endpoint:
    """Patch-style; enabling an endpoint again clears why it was disabled."""
    values = _clean(data, partial=True)
    for name, value in values.items():
        setattr(endpoint, name, value)
    if values.get("enabled") is True:
        endpoint.disabled_reason = ""
        endpoint.failing_since = None
    endpoint.full_clean()
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: Endpoint) -> None:
    endpoint.delete()


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: Endpoint, now: datetime | None = None) -> str:
    """A new secret; the old one keeps signing (both signatures sent) for 24 hours."""
    now = now or timezone.now()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + SECRET_OVERLAP
    endpoint.secret = new_secret()
    endpoint.save(
        update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
    )
    return endpoint.secret


@transaction.atomic
def endpoint_ping(*, endpoint: Endpoint) -> Delivery:
    """Queue a `ping` to the endpoint (sent by the worker, like every delivery)."""
    body = event_body(
        event_type=EventType.PING,
        data={"endpointId": str(endpoint.pk), "url": endpoint.url},
        timestamp=timezone.now(),
    )
    outbox_write(
        organisation_id=endpoint.organisation_id,
        endpoints=[endpoint],
        messages=[Message(EventType.PING, body)],
    )
    return Delivery.objects.filter(endpoint=endpoint, event_type=EventType.PING).latest("id")


@transaction.atomic
def delivery_retry(*, delivery: Delivery) -> Delivery:
    """Send the delivery again as soon as the worker can (same `webhook-id`)."""
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "next_attempt_at"])
    endpoint_id = str(delivery.endpoint_id)
    transaction.on_commit(lambda: enqueue_delivery([endpoint_id], force=True))
    return delivery
