"""Reads of webhook endpoints and their delivery log."""

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from organisations.models import Organisation
from webhooks.models import Delivery, DeliveryStatus, Endpoint


def endpoints_for(*, organisation: Organisation) -> QuerySet[Endpoint]:
    return Endpoint.objects.for_organisation(organisation).order_by("created_at", "id")  # type: ignore[no-any-return]


def endpoint_get(*, organisation: Organisation, endpoint_id: Any) -> Endpoint:
    """The organisation's endpoint, or Http404("Webhook endpoint not found")."""
    try:
        pk = uuid.UUID(str(endpoint_id))
    except ValueError:
        raise Http404("Webhook endpoint not found") from None
    endpoint = endpoints_for(organisation=organisation).filter(pk=pk).first()
    if endpoint is None:
        raise Http404("Webhook endpoint not found")
    return endpoint


def deliveries_for(*, endpoint: Endpoint, status: str | None = None) -> QuerySet[Delivery]:
    """The endpoint's delivery log, newest first, optionally of one status."""
    deliveries = Delivery.objects.filter(endpoint=endpoint).order_by("-id")
    if status is not None:
        if status not in DeliveryStatus.values:
            raise ValidationError(
                {"status": [f"Must be one of: {', '.join(DeliveryStatus.values)}."]}
            )
        deliveries = deliveries.filter(status=status)
    return deliveries


def delivery_get(*, endpoint: Endpoint, webhook_id: str) -> Delivery:
    delivery = Delivery.objects.filter(endpoint=endpoint, webhook_id=webhook_id).first()
    if delivery is None:
        raise Http404("Webhook delivery not found")
    return delivery
