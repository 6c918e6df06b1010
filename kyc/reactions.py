"""Reactions to the event seam (subscribed in KycConfig.ready): rescore, in the
writer's transaction, every customer whose score a write can move."""

from kyc.scoring import customers_rescore
from kycregistry import events

# Customer columns the factors read (kyc.factors); other changes cannot move a score.
SCORED_FIELDS = frozenset({"country", "account_type", "address", "custom_fields"})


def rescore_on_customers(event: events.CustomersWritten) -> None:
    ids = set(event.created_ids) | {
        pk for pk, names in event.changed_fields.items() if names & SCORED_FIELDS
    }
    if ids:
        customers_rescore(
            organisation_id=event.organisation_id,
            ids=ids,
            why="Customer created" if ids <= event.created_ids else "Customer data changed",
            created_ids=event.created_ids,
        )


def rescore_on_connections(event: events.ConnectionsChanged) -> None:
    """Both ends: the company's ownership and either side's connected parties moved."""
    customers_rescore(
        organisation_id=event.organisation_id,
        ids=event.customer_ids | event.holder_ids,
        why="Connections changed",
    )
