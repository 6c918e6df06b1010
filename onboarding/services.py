"""Taking customers on: a customer written together with its connections (the upsert
and PATCH of the API and the admin, whose payload may carry `connects`), and KYB
approval (`onboarding.kyb`). Both need customers and connections, so they live above
both apps."""

from functools import partial
from typing import Any
from uuid import UUID

from django.db import transaction

from customers.models import Customer
from customers.services import UpsertResult, customer_update, customer_upsert
from onboarding.kyb import KybConstraintsFailed, customer_approve, customer_reject
from organisations.models import Organisation
from relations.services import connections_replace
from relations.validation import parse_connects

__all__ = [
    "KybConstraintsFailed",
    "customer_approve",
    "customer_reject",
    "customer_update_with_connections",
    "customer_upsert_with_connections",
]


# Columns of the customer row that reactions to the write (the risk rescoring) set.
REACTION_COLUMNS = (
    "risk_score",
    "risk_level",
    "risk_factors",
    "risk_calculated_at",
    "risk_rules_version",
)


def _apply_connects(result: UpsertResult) -> UpsertResult:
    """The answer shows the customer as the reactions left it (its new risk score): the
    reactions to the customer's own write set it on the instance; those to its
    connections' change only write it, so it is read again then."""
    if result.connects is not None:
        connections_replace(customer=result.customer, items=parse_connects(result.connects))
        result.customer.refresh_from_db(fields=REACTION_COLUMNS)
    return result


def _carries_connects(data: Any) -> bool:
    return isinstance(data, dict) and "connects" in data


def customer_upsert_with_connections(
    *,
    organisation: Organisation,
    data: Any,
    only_create: bool = False,
    reject_unknown: bool | None = None,
    public_id: UUID | None = None,
) -> UpsertResult:
    """`customers.services.customer_upsert`, then `connects` (when present) as the full
    replacement of the customer's connections, all in one transaction."""
    upsert = partial(
        customer_upsert,
        organisation=organisation,
        data=data,
        only_create=only_create,
        reject_unknown=reject_unknown,
        public_id=public_id,
    )
    if not _carries_connects(data):
        return upsert()  # one service, in its own transaction (no savepoint in another)
    with transaction.atomic():
        return _apply_connects(upsert())


def customer_update_with_connections(
    *, customer: Customer, data: Any, reject_unknown: bool | None = None
) -> UpsertResult:
    """`customers.services.customer_update` (PATCH), then `connects` when present."""
    update = partial(customer_update, customer=customer, data=data, reject_unknown=reject_unknown)
    if not _carries_connects(data):
        return update()
    with transaction.atomic():
        return _apply_connects(update())
