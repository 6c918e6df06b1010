"""Reads of connections, with their joins done once here."""

from django.db.models import QuerySet

from customers.models import Customer
from relations.models import Connection


def connections_for(*, customer: Customer) -> QuerySet[Connection]:
    """The customer's connections (the holders of roles in it), oldest first."""
    return (
        Connection.objects.filter(customer=customer)
        .select_related("connected_customer")
        .order_by("id")
    )
