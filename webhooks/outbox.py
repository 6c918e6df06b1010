"""The outbox: reactions to the event seam that write one `Delivery` per event and
subscribed endpoint, inside the writer's transaction.

A change that rolls back takes its deliveries with it; a committed change has its
deliveries committed with it, and the worker sends them whatever happens to the
process that made the change (the periodic sweep finds them if the task enqueued at
commit is lost). Organisations without an enabled endpoint for an event type cost one
small query per write and write nothing.
"""

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.db import connection, transaction
from django.db.models import Field, QuerySet
from django.utils import timezone

from customers.models import Customer, CustomerFieldDefinition, CustomerStatus
from imports.models import BulkUpload
from kyc.api.serializers import SessionOutputSerializer
from kyc.models import Session
from kycregistry import events
from kycregistry.compiled import CompiledQuery
from organisations.audit import Channel
from organisations.querysets import ORGANISATION
from relations.models import Connection
from screening.api.serializers import ScreeningHitSerializer
from screening.models import ScreeningHit
from webhooks import payloads
from webhooks.models import Delivery, DeliveryStatus, Endpoint, EventType, new_webhook_id

BATCH = 1000


@dataclass(frozen=True)
class Message:
    event_type: str
    body: str
    ordering_key: str = ""


def _enabled_endpoints(*, imports: bool) -> CompiledQuery[Endpoint]:
    """The organisation's enabled endpoints (with `imports`, only those that asked for
    import events), compiled once: every write of any organisation reads them."""

    def build() -> QuerySet[Endpoint]:
        endpoints = Endpoint.objects.for_organisation(ORGANISATION).filter(enabled=True)
        if imports:
            endpoints = endpoints.filter(include_import_events=True)
        return endpoints.only("id", "organisation_id", "events", "include_import_events")

    return CompiledQuery(build)


ENABLED_ENDPOINTS = {imports: _enabled_endpoints(imports=imports) for imports in (False, True)}


def subscribed_endpoints(*, organisation_id: Any, channel: str = "") -> list[Endpoint]:
    """The organisation's enabled endpoints; for a bulk upload's rows, only those that
    asked for import events. Read once for all the events of one write."""
    query = ENABLED_ENDPOINTS[channel == Channel.IMPORT]
    return events.memo(
        ("webhooks.endpoints", organisation_id, channel == Channel.IMPORT),
        lambda: query.run(organisation=organisation_id),
    )


def wanted(endpoints: list[Endpoint], event_type: str) -> bool:
    return any(endpoint.subscribes_to(event_type) for endpoint in endpoints)


def outbox_write(
    *, organisation_id: Any, endpoints: list[Endpoint], messages: Iterable[Message]
) -> int:
    """Write the deliveries of `messages` for the endpoints subscribed to each (for
    a write's announcement, once when it is over: one INSERT), and have the worker
    send them once the transaction commits. Returns how many."""
    now = timezone.now()
    rows = [
        (
            organisation_id,
            endpoint.pk,
            new_webhook_id(),
            message.event_type,
            message.body,
            message.ordering_key,
            DeliveryStatus.PENDING,
            0,
            now,
            "",
            "",
            now,
        )
        for message in messages
        for endpoint in endpoints
        if endpoint.subscribes_to(message.event_type) or message.event_type == EventType.PING
    ]
    if rows:
        events.collect("webhooks.outbox", rows, _write_deliveries)
    return len(rows)


def _write_deliveries(rows: list[tuple[Any, ...]]) -> None:
    for start in range(0, len(rows), BATCH):
        _insert_deliveries(rows[start : start + BATCH])
    endpoint_ids = sorted({str(row[1]) for row in rows})
    transaction.on_commit(lambda: enqueue_delivery(endpoint_ids))


# The columns `outbox_write` fills, in its rows' order.
INSERTED = [
    cast(Field[Any, Any], Delivery._meta.get_field(name))
    for name in (
        "organisation",
        "endpoint",
        "webhook_id",
        "event_type",
        "body",
        "ordering_key",
        "status",
        "attempts",
        "next_attempt_at",
        "last_response_body",
        "last_error",
        "created_at",
    )
]


def _insert_deliveries(rows: list[tuple[Any, ...]]) -> None:
    """One multi-row INSERT: the outbox is written by every change of a subscribed
    organisation, and the ORM's bulk_create (model instances, RETURNING the ids) costs
    twice the statement itself there."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in INSERTED)
    placeholders = "(" + ", ".join(["%s"] * len(INSERTED)) + ")"
    params = [
        field.get_db_prep_save(value, connection)
        for row in rows
        for field, value in zip(INSERTED, row, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(Delivery._meta.db_table)} ({columns}) VALUES "  # noqa: S608
            + ", ".join([placeholders] * len(rows)),
            params,
        )


# When this process queued a delivery task for an endpoint (monotonic seconds).
_queued_at: dict[str, float] = {}


def enqueue_delivery(endpoint_ids: list[str], *, force: bool = False) -> None:
    """Queue the delivery task of each endpoint. On a real queue, a process queues at
    most one per endpoint per QUEUE_WINDOW seconds: that task, or the one running, finds
    the rows committed meanwhile, since a run watches for new rows for LINGER seconds
    (longer than the window) before it ends. A burst of writes then costs one queued
    task, not one per write."""
    from webhooks.tasks import LINGER_SECONDS, QUEUE_WINDOW_SECONDS, deliver_endpoint

    queue = deliver_endpoint.get_backend().supports_defer  # tests run tasks at once
    now = time.monotonic()
    for endpoint_id in endpoint_ids:
        if (
            queue
            and not force
            and now - _queued_at.get(endpoint_id, -LINGER_SECONDS) < (QUEUE_WINDOW_SECONDS)
        ):
            continue
        deliver_endpoint.enqueue(endpoint_id=endpoint_id)
        _queued_at[endpoint_id] = now


def _customer_key(customer_id: int) -> str:
    return f"customer:{customer_id}"


def on_customers_written(event: events.CustomersWritten) -> None:
    endpoints = subscribed_endpoints(organisation_id=event.organisation_id, channel=event.channel)
    if not endpoints:
        return
    types = [t.value for t in EventType if wanted(endpoints, t)]
    if not types:
        return
    now = timezone.now()
    definitions: list[CustomerFieldDefinition] | None = None
    ids = sorted(event.ids)
    messages: list[Message] = []
    for start in range(0, len(ids), BATCH):
        chunk = _customers(ids[start : start + BATCH], event.customers)
        if definitions is None and any(customer.custom_fields for customer in chunk):
            # Only custom field values need the definitions (which keys to show).
            definitions = list(
                CustomerFieldDefinition.objects.filter(
                    organisation_id=event.organisation_id
                ).order_by("key")
            )
        for customer in chunk:
            messages.extend(_customer_messages(event, customer, definitions or [], types, now))
        outbox_write(organisation_id=event.organisation_id, endpoints=endpoints, messages=messages)
        messages = []


def _customers(ids: list[int], in_hand: Mapping[int, Customer]) -> list[Customer]:
    """The customers of `ids` in id order: those the writer handed over as they are
    (the reactions before this one set what they wrote on them), the others read."""
    read = [pk for pk in ids if pk not in in_hand]
    found = Customer.objects.in_bulk(read) if read else {}
    return [customer for pk in ids if (customer := in_hand.get(pk) or found.get(pk))]


def _customer_messages(
    event: events.CustomersWritten,
    customer: Customer,
    definitions: list[CustomerFieldDefinition],
    types: list[str],
    now: datetime,
) -> Iterable[Message]:
    key = _customer_key(customer.pk)
    data: dict[str, Any] | None = None

    def customer_data() -> dict[str, Any]:
        nonlocal data
        if data is None:
            data = payloads.customer_data([customer], definitions)[customer.pk]
        return data

    if customer.pk in event.created_ids:
        if EventType.CUSTOMER_CREATED in types:
            body = payloads.event_body(
                event_type=EventType.CUSTOMER_CREATED, data=customer_data(), timestamp=now
            )
            yield Message(EventType.CUSTOMER_CREATED, body, key)
        if EventType.CLIENT_CREATED in types:
            body = payloads.client_body(customer=customer, webhook_type="created")
            yield Message(EventType.CLIENT_CREATED, body, key)
        return
    changed = event.changed_fields.get(customer.pk, frozenset())
    if EventType.CUSTOMER_UPDATED in types:
        data_with_changes = {
            **customer_data(),
            "changedFields": payloads.changed_field_names(customer, changed),
        }
        body = payloads.event_body(
            event_type=EventType.CUSTOMER_UPDATED, data=data_with_changes, timestamp=now
        )
        yield Message(EventType.CUSTOMER_UPDATED, body, key)
    if (
        "status" in changed
        and customer.status == CustomerStatus.INACTIVE
        and EventType.CUSTOMER_DEACTIVATED in types
    ):
        body = payloads.event_body(
            event_type=EventType.CUSTOMER_DEACTIVATED, data=customer_data(), timestamp=now
        )
        yield Message(EventType.CUSTOMER_DEACTIVATED, body, key)


def on_connections_changed(event: events.ConnectionsChanged) -> None:
    endpoints = subscribed_endpoints(organisation_id=event.organisation_id, channel=event.channel)
    if not endpoints:
        return
    now = timezone.now()
    messages: list[Message] = []
    for event_type, ids in (
        (EventType.CONNECTION_CREATED, event.added),
        (EventType.CONNECTION_UPDATED, event.updated),
    ):
        if not ids or not wanted(endpoints, event_type):
            continue
        connections = Connection.objects.filter(pk__in=ids).select_related(
            "customer", "connected_customer"
        )
        for link in connections.order_by("pk"):
            body = payloads.event_body(
                event_type=event_type, data=payloads.connection_data(link), timestamp=now
            )
            messages.append(Message(event_type, body, _customer_key(link.customer_id)))
    if event.removed and wanted(endpoints, EventType.CONNECTION_REMOVED):
        customer_ids = {c.customer_id for c in event.removed} | {
            c.connected_customer_id for c in event.removed
        }
        customers = Customer.objects.only("id", "name", "reference_id").in_bulk(customer_ids)
        for removed in event.removed:
            body = payloads.event_body(
                event_type=EventType.CONNECTION_REMOVED,
                data=payloads.removed_connection_data(removed, customers),
                timestamp=now,
            )
            messages.append(
                Message(EventType.CONNECTION_REMOVED, body, _customer_key(removed.customer_id))
            )
    outbox_write(organisation_id=event.organisation_id, endpoints=endpoints, messages=messages)


def on_upload_completed(event: events.UploadCompleted) -> None:
    endpoints = subscribed_endpoints(organisation_id=event.organisation_id)
    if not wanted(endpoints, EventType.BULK_UPLOAD_COMPLETED):
        return
    upload = BulkUpload.objects.get(pk=event.upload_id)
    body = payloads.event_body(
        event_type=EventType.BULK_UPLOAD_COMPLETED,
        data=payloads.upload_data(upload),
        timestamp=timezone.now(),
    )
    outbox_write(
        organisation_id=event.organisation_id,
        endpoints=endpoints,
        messages=[Message(EventType.BULK_UPLOAD_COMPLETED, body, f"upload:{upload.pk}")],
    )


def on_client_connected(event: events.ClientConnected) -> None:
    endpoints = subscribed_endpoints(organisation_id=event.organisation_id, channel=event.channel)
    if not wanted(endpoints, EventType.CLIENT_CONNECTION_CREATED):
        return
    customer = Customer.objects.get(pk=event.customer_id)
    body = payloads.client_body(
        customer=customer,
        webhook_type="connection-created",
        connect={
            "connection": {"id": event.connection_id, "serviceProvider": event.service_provider}
        },
    )
    outbox_write(
        organisation_id=event.organisation_id,
        endpoints=endpoints,
        messages=[
            Message(EventType.CLIENT_CONNECTION_CREATED, body, _customer_key(event.customer_id))
        ],
    )


def _outbox_each(
    event: Any, event_type: str, items: Callable[[], Iterable[tuple[int, Any]]]
) -> None:
    """One message of `event_type` per (customer id, data) that `items()` gives, in
    that customer's order, for the endpoints subscribed to it (`items` is read only
    when one is)."""
    endpoints = subscribed_endpoints(organisation_id=event.organisation_id, channel=event.channel)
    if not wanted(endpoints, event_type):
        return
    now = timezone.now()
    outbox_write(
        organisation_id=event.organisation_id,
        endpoints=endpoints,
        messages=[
            Message(
                event_type,
                payloads.event_body(event_type=event_type, data=data, timestamp=now),
                _customer_key(customer_id),
            )
            for customer_id, data in items()
        ],
    )


def on_sessions_written(event: events.SessionsWritten) -> None:
    def items() -> Iterable[tuple[int, Any]]:
        sessions = Session.objects.filter(pk__in=event.created_ids | event.updated_ids)
        for session in sessions.select_related("customer").order_by("pk"):
            yield session.customer_id, SessionOutputSerializer(session).data

    _outbox_each(event, EventType.SESSION_UPDATED, items)


def on_risk_changed(event: events.RiskChanged) -> None:
    def items() -> Iterable[tuple[int, Any]]:
        for change in event.changes:
            yield (
                change.customer_id,
                {
                    "customerReferenceId": change.reference_id,
                    "oldScore": change.old_score,
                    "newScore": change.new_score,
                    "oldLevel": change.old_level or None,
                    "newLevel": change.new_level,
                    "reason": event.reason,
                },
            )

    _outbox_each(event, EventType.RISK_CHANGED, items)


def on_screening_hits_found(event: events.ScreeningHitsFound) -> None:
    def items() -> Iterable[tuple[int, Any]]:
        hits = ScreeningHit.objects.filter(pk__in=event.hit_ids).select_related(
            "party", "entry__watchlist"
        )
        for hit in hits.order_by("pk"):
            yield hit.customer_id, ScreeningHitSerializer(hit).data

    _outbox_each(event, EventType.SCREENING_HIT, items)
