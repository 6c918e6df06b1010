"""Sending the outbox: claim due deliveries, attempt them, record the outcome.

- Claiming is a short transaction that leases the rows (moves `next_attempt_at` a
  minute ahead): two workers never send the same row at once, and a worker that dies
  mid-send leaves a row that is due again a minute later (same `webhook-id`).
- One customer's events reach an endpoint in order: a row is due only when no earlier
  row of the same endpoint and customer is still pending.
- A failed attempt is retried after 5 s, 5 min, 30 min, 2 h, 5 h and 10 h (plus up to
  10% jitter), then given up (`failed`). An endpoint whose attempts have failed for
  five days without a success is disabled, with the reason.
- A worker stops working an endpoint at its first failure, so a slow or dead
  endpoint costs at most one timeout per run and never holds up other endpoints.
- Delivered and failed deliveries are kept WEBHOOKS_RETENTION_DAYS from the event
  (0: for ever), then deleted by the sweep; pending ones are never deleted.
"""

import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from organisations.audit import Channel, audit_context
from webhooks.models import Delivery, DeliveryStatus, Endpoint
from webhooks.sending import Outcome, post, signed_headers

RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
)
JITTER = 0.1
DISABLE_AFTER = timedelta(days=5)
LEASE = timedelta(seconds=60)
CLAIM_BATCH = 20
SECRET_OVERLAP = timedelta(hours=24)
LINGER_POLL_SECONDS = 0.2
RECORDED_FIELDS = [
    "attempts",
    "last_attempt_at",
    "last_response_status",
    "last_response_body",
    "last_error",
    "status",
    "delivered_at",
    "next_attempt_at",
]


def retry_delay(attempts: int, *, rng: random.Random | None = None) -> timedelta | None:
    """The wait after the `attempts`-th failed attempt, or None: give up."""
    if attempts > len(RETRY_DELAYS):
        return None
    base = RETRY_DELAYS[attempts - 1]
    return base * (1 + (rng or random).uniform(0, JITTER))


def signing_secrets(endpoint: Endpoint, now: datetime) -> list[str]:
    secrets = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        secrets.append(endpoint.previous_secret)
    return secrets


def claim(*, endpoint_id: Any, now: datetime, limit: int = CLAIM_BATCH) -> list[Delivery]:
    """Lease up to `limit` due rows of the endpoint, oldest first, each the first
    pending row of its customer."""
    earlier = Delivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        ordering_key=OuterRef("ordering_key"),
        status=DeliveryStatus.PENDING,
        id__lt=OuterRef("id"),
    )
    with transaction.atomic():
        rows = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(
                endpoint_id=endpoint_id,
                status=DeliveryStatus.PENDING,
                next_attempt_at__lte=now,
            )
            .filter(Q(ordering_key="") | ~Exists(earlier))
            .order_by("id")[:limit]
        )
        if not rows:
            return []
        leased = now + LEASE
        Delivery.objects.filter(pk__in=[row.pk for row in rows]).update(next_attempt_at=leased)
    for row in rows:
        row.next_attempt_at = leased
    return rows


def attempt(*, delivery: Delivery, endpoint: Endpoint, now: datetime) -> Outcome:
    """One signed POST of the delivery's body. The signature's timestamp is the real
    clock (receivers check it against theirs)."""
    headers = signed_headers(
        secrets=signing_secrets(endpoint, now),
        webhook_id=delivery.webhook_id,
        timestamp=int(time.time()),
        body=delivery.body,
    )
    return post(url=endpoint.url, headers=headers, body=delivery.body)


def record(*, delivery: Delivery, endpoint: Endpoint, outcome: Outcome, now: datetime) -> None:
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_response_status = outcome.status
    delivery.last_response_body = outcome.body[:1024]
    delivery.last_error = outcome.error[:500]
    if outcome.ok:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        if endpoint.failing_since is not None:
            Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
            endpoint.failing_since = None
    else:
        delay = retry_delay(delivery.attempts)
        if delay is None:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + delay
        _note_failure(endpoint=endpoint, outcome=outcome, now=now)
    delivery.save(update_fields=RECORDED_FIELDS)


def _mark_delivered(delivery: Delivery, outcome: Outcome, now: datetime) -> None:
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_response_status = outcome.status
    delivery.last_response_body = outcome.body[:1024]
    delivery.last_error = ""
    delivery.status = DeliveryStatus.DELIVERED
    delivery.delivered_at = now
    delivery.next_attempt_at = None


def _save_delivered(deliveries: list[Delivery], endpoint: Endpoint) -> None:
    """The successes of a batch in one statement."""
    if not deliveries:
        return
    Delivery.objects.bulk_update(deliveries, RECORDED_FIELDS)
    if endpoint.failing_since is not None:
        Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        endpoint.failing_since = None


def _note_failure(*, endpoint: Endpoint, outcome: Outcome, now: datetime) -> None:
    if endpoint.failing_since is None:
        Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
            failing_since=now
        )
        endpoint.failing_since = now
        return
    if now - endpoint.failing_since < DISABLE_AFTER or not endpoint.enabled:
        return
    endpoint.enabled = False
    endpoint.disabled_reason = (
        f"Disabled on {now:%Y-%m-%d %H:%M} UTC: every delivery failed since "
        f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC (last: {outcome.error})."
    )[:500]
    with audit_context(channel=Channel.SYSTEM):
        endpoint.save(update_fields=["enabled", "disabled_reason", "updated_at"])


@dataclass
class RunResult:
    delivered: int = 0
    failed_at: datetime | None = None  # when the failed row is due again, if it is
    more: bool = False  # stopped on the time budget with rows still due


def deliver_due(
    *,
    endpoint_id: Any,
    now: datetime | None = None,
    budget_seconds: float = 20.0,
    linger_seconds: float = 0.0,
) -> RunResult:
    """Send the endpoint's due deliveries until none is left (for `linger_seconds`,
    polling), one fails, or the time budget is spent."""
    result = RunResult()
    endpoint = Endpoint.objects.filter(pk=endpoint_id, enabled=True).first()
    if endpoint is None:
        return result
    deadline = time.monotonic() + budget_seconds
    idle_until = time.monotonic() + linger_seconds
    while True:
        if time.monotonic() > deadline:
            result.more = True
            return result
        moment = now or timezone.now()
        batch = claim(endpoint_id=endpoint.pk, now=moment)
        if not batch:
            if time.monotonic() >= idle_until:
                return result
            time.sleep(LINGER_POLL_SECONDS)
            continue
        idle_until = time.monotonic() + linger_seconds
        delivered: list[Delivery] = []
        try:
            for position, delivery in enumerate(batch):
                moment = now or timezone.now()
                outcome = attempt(delivery=delivery, endpoint=endpoint, now=moment)
                if outcome.ok:
                    _mark_delivered(delivery, outcome, moment)
                    delivered.append(delivery)
                    continue
                record(delivery=delivery, endpoint=endpoint, outcome=outcome, now=moment)
                rest = [row.pk for row in batch[position + 1 :]]
                if rest:  # give the lease back: due again for the next run
                    Delivery.objects.filter(pk__in=rest).update(next_attempt_at=moment)
                result.failed_at = delivery.next_attempt_at
                return result
        finally:
            _save_delivered(delivered, endpoint)
            result.delivered += len(delivered)


def due_endpoint_ids(*, now: datetime) -> list[object]:
    """Endpoints with deliveries due (for the periodic sweep)."""
    return list(
        Delivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__enabled=True
        )
        .order_by()
        .values_list("endpoint_id", flat=True)
        .distinct()
    )


PRUNE_BATCH = 1000
PRUNE_BATCHES_PER_RUN = 20


def prune_deliveries(*, now: datetime) -> int:
    """Delete the delivered and failed deliveries older than the retention, oldest
    first, at most PRUNE_BATCHES_PER_RUN batches a run (the next sweep goes on).
    Ids grow with `created_at`, so the old rows are the ids below the first young
    one: a walk of the primary key, without an index on `created_at`."""
    days = settings.WEBHOOKS_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = now - timedelta(days=days)
    first_kept = (
        Delivery.objects.filter(created_at__gte=cutoff).order_by("id").values_list("id").first()
    )
    old = Delivery.objects.filter(status__in=[DeliveryStatus.DELIVERED, DeliveryStatus.FAILED])
    if first_kept is not None:
        old = old.filter(id__lt=first_kept[0])
    deleted = 0
    for _ in range(PRUNE_BATCHES_PER_RUN):
        ids = list(old.order_by("id").values_list("id", flat=True)[:PRUNE_BATCH])
        if not ids:
            break
        deleted += Delivery.objects.filter(id__in=ids).delete()[0]
    return deleted
