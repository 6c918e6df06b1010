"""Webhook endpoints and deliveries in and out of the API."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kycregistry.api.fields import IsoMillisDateTimeField
from webhooks.models import Delivery


class EndpointOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    enabled = serializers.BooleanField()
    includeImportEvents = serializers.BooleanField(source="include_import_events")
    disabledReason = serializers.SerializerMethodField()
    createdAt = IsoMillisDateTimeField(source="created_at")
    updatedAt = IsoMillisDateTimeField(source="updated_at")

    def get_disabledReason(self, endpoint: Any) -> str | None:
        return endpoint.disabled_reason or None


class EndpointWithSecretSerializer(EndpointOutputSerializer):
    """The answer to a creation or a rotation: the only place the secret is shown."""

    secret = serializers.CharField(help_text="whsec_…: shown only in this answer.")


class EndpointInputSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="https (http only where the settings allow it).")
    events = serializers.ListField(
        child=serializers.CharField(), help_text='Event types, or ["*"] for every type.'
    )
    description = serializers.CharField(required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False, default=True)
    includeImportEvents = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Also per-customer and per-connection events of bulk uploads.",
    )


class DeliveryOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="webhook_id", help_text="The webhook-id header.")
    eventType = serializers.CharField(source="event_type")
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    lastResponseStatus = serializers.IntegerField(source="last_response_status", allow_null=True)
    lastError = serializers.SerializerMethodField()
    nextAttemptAt = IsoMillisDateTimeField(source="next_attempt_at", allow_null=True)
    createdAt = IsoMillisDateTimeField(source="created_at")
    deliveredAt = IsoMillisDateTimeField(source="delivered_at", allow_null=True)
    payload = serializers.SerializerMethodField()

    def get_lastError(self, delivery: Delivery) -> str | None:
        return delivery.last_error or None

    @extend_schema_field({"type": "object", "description": "The JSON body that is sent."})
    def get_payload(self, delivery: Delivery) -> Any:
        return delivery.payload
