"""Webhook endpoints of an organisation and the outbox of their deliveries.

A `Delivery` is one event for one endpoint: written in the transaction of the change
it reports (the outbox), sent later by the task worker, retried until it is delivered
or given up. Its `webhook_id` is the `webhook-id` header, the same on every attempt,
so a receiver can drop duplicates.
"""

import base64
import json
import secrets
import uuid
from typing import Any

from django.db import models

from organisations.audit import AuditedHistoricalRecords
from organisations.querysets import OrganisationQuerySet

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)


def new_secret() -> str:
    """`whsec_` + 32 random bytes in base64 (the Standard Webhooks secret format)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def new_webhook_id() -> str:
    return "msg_" + uuid.uuid4().hex


class EventType(models.TextChoices):
    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_UPDATED = "customer.updated"
    CUSTOMER_DEACTIVATED = "customer.deactivated"
    CONNECTION_CREATED = "connection.created"
    CONNECTION_UPDATED = "connection.updated"
    CONNECTION_REMOVED = "connection.removed"
    BULK_UPLOAD_COMPLETED = "bulk_upload.completed"
    CLIENT_CREATED = "client.created"
    CLIENT_CONNECTION_CREATED = "client.connection-created"
    SESSION_UPDATED = "session.updated"
    RISK_CHANGED = "risk.changed"
    SCREENING_HIT = "screening.hit"
    PING = "ping"


ALL_EVENTS = "*"


class Endpoint(models.Model):
    """A URL of the organisation that receives the events it subscribes to, signed
    with its secret. After a rotation the previous secret signs too, until
    `previous_secret_expires_at`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list, help_text='Event types, or ["*"] for all.')
    description = models.CharField(max_length=500, blank=True)
    enabled = models.BooleanField(default=True)
    include_import_events = models.BooleanField(
        default=False,
        help_text="Also send per-customer and per-connection events of bulk uploads "
        "(bulk_upload.completed is always sent).",
    )
    secret = models.CharField(max_length=100, default=new_secret, editable=False)
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=500, blank=True)
    # The first failed attempt since the last success: five days of failures disable it.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganisationQuerySet.as_manager()
    # Secrets never go to history: it is readable by every analyst of the organisation.
    history = AuditedHistoricalRecords(
        excluded_fields=["secret", "previous_secret", "previous_secret_expires_at"],
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str) -> bool:
        return ALL_EVENTS in self.events or event_type in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Delivery(models.Model):
    """One event for one endpoint (the outbox row), and where its sending stands.

    `body` is the exact JSON sent (signed as is); `ordering_key` names the customer
    the event is about: an endpoint gets one customer's events in order, each only
    after the earlier ones are delivered or given up."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    # The indexes below all lead with the endpoint: no index of its own.
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    webhook_id = models.CharField(max_length=40, default=new_webhook_id)
    event_type = models.CharField(max_length=64)
    body = models.TextField()
    ordering_key = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=DeliveryStatus, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response_body = models.CharField(max_length=1024, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            # The worker's pick: an endpoint's pending rows that are due. Its condition
            # names next_attempt_at so that the ordering check below cannot use it: with
            # stale statistics (a backlog written at once) PostgreSQL took it for that
            # check and read every pending row for each one.
            models.Index(
                fields=["endpoint", "next_attempt_at"],
                condition=models.Q(status="pending", next_attempt_at__isnull=False),
                name="delivery_due_idx",
            ),
            # The ordering check: an earlier pending row of the same customer.
            models.Index(
                fields=["endpoint", "ordering_key", "id"],
                condition=models.Q(status="pending"),
                name="delivery_order_idx",
            ),
            models.Index(fields=["endpoint", "-id"], name="delivery_log_idx"),
        ]
        # A constraint rather than `unique=True`: on PostgreSQL the field option adds a
        # second (LIKE) index that no query uses, and every outbox write pays for it.
        constraints = [
            models.UniqueConstraint(fields=["webhook_id"], name="delivery_webhook_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_id}"

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


class SweepSchedule(models.Model):
    """One row: when the next periodic sweep of due deliveries is planned, so that
    however many workers re-arm it, one sweep task is queued at a time."""

    next_run_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"next sweep at {self.next_run_at}"
