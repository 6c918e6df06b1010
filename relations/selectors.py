"""Reads of connections, with their joins done once here."""

from typing import Any

from django.db.models import Count, Q, QuerySet

from customers.models import Customer
from relations.models import Connection


def connections_for(*, customer: Customer) -> QuerySet[Connection]:
    """The customer's connections (the holders of roles in it), oldest first."""
    return (
        Connection.objects.filter(customer=customer)
        .select_related("connected_customer")
        .order_by("id")
    )


def connection_counts(*, customer: Customer) -> dict[str, Any]:
    """How many connections the customer has (as the company/account: the list of
    `GET /customers/{ref}/connections`) and holds towards others, by role; one query."""
    rows = (
        Connection.objects.filter(Q(customer=customer) | Q(connected_customer=customer))
        .values("role")
        .annotate(
            own=Count("id", filter=Q(customer=customer)),
            held=Count("id", filter=Q(connected_customer=customer)),
        )
        .order_by("role")
    )
    own = {row["role"]: row["own"] for row in rows if row["own"]}
    held = {row["role"]: row["held"] for row in rows if row["held"]}
    return {
        "total": sum(own.values()),
        "byRole": own,
        "heldTotal": sum(held.values()),
        "heldByRole": held,
    }
