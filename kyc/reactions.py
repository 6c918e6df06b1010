"""Reactions to the event seam (subscribed in KycConfig.ready): rescore every customer
whose score a write can move.

API and admin writes are rescored in the writer's transaction, so their answer shows
the new score. A bulk upload writes up to a million customers in batches of thousands:
scoring them there would hold the upload up several times over, so its customers are
scored by the task worker right after each batch commits (`kyc.tasks.rescore_customers`,
in batches, each its own transaction).
"""

from collections.abc import Collection, Mapping
from functools import partial
from uuid import UUID

from django.db import transaction

from customers.models import Customer
from kyc.scoring import customers_rescore
from kycregistry import events
from organisations.audit import Channel

# Customer columns the factors read (kyc.factors); other changes cannot move a score.
SCORED_FIELDS = frozenset({"country", "account_type", "address", "custom_fields"})
DEFERRED_BATCH = 5000  # customer ids per background task


def _rescore(
    event: events.CustomersWritten | events.ConnectionsChanged,
    ids: Collection[int],
    why: str,
    created_ids: Collection[int] = (),
    instances: Mapping[int, Customer] | None = None,
) -> None:
    if event.channel != Channel.IMPORT:
        customers_rescore(
            organisation_id=event.organisation_id,
            ids=ids,
            why=why,
            created_ids=created_ids,
            instances=instances,
        )
        return
    ordered = sorted(ids)
    for start in range(0, len(ordered), DEFERRED_BATCH):
        batch = ordered[start : start + DEFERRED_BATCH]
        transaction.on_commit(
            partial(
                _enqueue,
                event.organisation_id,
                batch,
                why,
                sorted(set(created_ids).intersection(batch)),
            )
        )


def _enqueue(organisation_id: UUID, ids: list[int], why: str, created_ids: list[int]) -> None:
    from kyc.tasks import rescore_customers

    rescore_customers.enqueue(
        organisation_id=str(organisation_id), ids=ids, why=why, created_ids=created_ids
    )


def rescore_on_customers(event: events.CustomersWritten) -> None:
    ids = set(event.created_ids) | {
        pk for pk, names in event.changed_fields.items() if names & SCORED_FIELDS
    }
    if ids:
        why = "Customer created" if ids <= event.created_ids else "Customer data changed"
        _rescore(event, ids, why, created_ids=event.created_ids, instances=event.customers)


def rescore_on_screening(
    event: events.ScreeningHitsFound | events.ScreeningHitsReviewed | events.ScreeningHitsRemoved,
) -> None:
    """Open and confirmed hits score (factor screening_hit)."""
    customers_rescore(
        organisation_id=event.organisation_id, ids=event.customer_ids, why="Screening hits changed"
    )


def rescore_on_connections(event: events.ConnectionsChanged) -> None:
    """Both ends: the company's ownership and either side's connected parties moved."""
    _rescore(event, event.customer_ids | event.holder_ids, "Connections changed")
