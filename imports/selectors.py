"""Reads about finished uploads: which customers a job created or updated.

The writer stamps every history row it writes with the reason "Bulk upload #<id>"
(imports.services), so the job's customers are exact: created = a customer history
row of type "+"; updated = a customer history row of type "~", or a connection
history row of a connection the customer holds (a row whose only change is its
`connects`), less the created ones. Customers the upload found unchanged or skipped
have no such row; neither have the customers a reaction changed afterwards."""

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from customers.models import Customer
from imports.models import BulkUpload
from relations.models import Connection

CREATED = "created"
UPDATED = "updated"
OUTCOMES = (CREATED, UPDATED)


def change_reason(upload_id: int) -> str:
    return f"Bulk upload #{upload_id}"


def _history(model: type[Any], upload: BulkUpload) -> QuerySet[Any]:
    history = getattr(model, "history").model  # noqa: B009 (added at runtime)
    return history.objects.filter(
        history_change_reason=change_reason(upload.pk),
        history_date__gte=upload.created_at,
        history_date__lte=upload.finished_at or timezone.now(),
    )


def bulk_upload_customers(*, upload: BulkUpload, outcome: str) -> QuerySet[Customer]:
    """The customers of `upload`'s organisation it created, or updated (`outcome`)."""
    customers = Customer.objects.for_organisation(upload.organisation_id)
    created = _history(Customer, upload).filter(history_type="+").values("id")
    if outcome == CREATED:
        return customers.filter(pk__in=created)
    if outcome != UPDATED:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
    changed = _history(Customer, upload).filter(history_type="~").values("id")
    relinked = _history(Connection, upload).values("customer_id")
    return customers.filter(Q(pk__in=changed) | Q(pk__in=relinked)).exclude(pk__in=created)
