"""Screening on change: a monitored customer whose name or identity changed, or whose
connections changed, is screened again (in a task, once the write has committed)."""

from collections.abc import Mapping
from uuid import UUID

from django.db import transaction
from django.db.models import F

from customers.models import Customer
from kycregistry import events
from kycregistry.sql import AnyId

# Fields whose change can change a screening result.
SCREENED_FIELDS = frozenset(
    {"name", "given_name", "family_name", "legal_name", "birth_date", "country", "account_type"}
)


LOOKUP_CHUNK = 5000  # customer ids per query


def _enqueue(
    organisation_id: UUID, customer_ids: set[int], in_hand: Mapping[int, Customer] | None = None
) -> None:
    """After commit (the writer's transaction pays nothing): a task for the monitored
    ones, if any. The writer's instances (`in_hand`, read under its row lock) say
    themselves whether they are monitored; the others are looked up."""
    in_hand = in_hand or {}
    known = [pk for pk in customer_ids if pk in in_hand and in_hand[pk].monitored]
    unknown = sorted(pk for pk in customer_ids if pk not in in_hand)
    if not known and not unknown:
        return

    def enqueue_monitored() -> None:
        from screening.tasks import rescreen_customers

        monitored = sorted(
            known
            + [
                pk
                for start in range(0, len(unknown), LOOKUP_CHUNK)
                for pk in Customer.objects.filter(
                    AnyId(F("pk"), unknown[start : start + LOOKUP_CHUNK]),
                    organisation_id=organisation_id,
                    monitored=True,
                )
                .order_by()
                .values_list("pk", flat=True)
            ]
        )
        if monitored:
            rescreen_customers.enqueue(organisation_id=str(organisation_id), customer_ids=monitored)

    transaction.on_commit(enqueue_monitored)


def rescreen_on_customer_change(event: events.CustomersWritten) -> None:
    changed = {pk for pk, names in event.changed_fields.items() if names & SCREENED_FIELDS}
    if changed:
        _enqueue(event.organisation_id, changed, event.customers)


def rescreen_on_connection_change(event: events.ConnectionsChanged) -> None:
    _enqueue(event.organisation_id, set(event.customer_ids | event.holder_ids))
