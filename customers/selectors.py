"""Reads of customers: one place for the queries the API and the admin share."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from customers.filters import CustomerFilter
from customers.models import Customer, CustomerFieldDefinition
from organisations.models import Organisation


def customer_get(*, organisation: Organisation, reference_id: str) -> Customer:
    """The organisation's customer (active or not), or Http404("Customer not found")."""
    customer = (
        Customer.objects.for_organisation(organisation).filter(reference_id=reference_id).first()
    )
    if customer is None:
        raise Http404("Customer not found")
    return customer


def customer_list(*, organisation: Organisation, filters: Any) -> QuerySet[Customer]:
    """The organisation's customers filtered by the query parameters of `GET /customers`
    (SPEC §4); raises ValidationError naming the filter whose value is wrong."""
    filterset = CustomerFilter(
        data=filters, queryset=Customer.objects.for_organisation(organisation)
    )
    if not filterset.is_valid():
        errors = {}
        for name, messages in filterset.errors.items():
            if name == "ordering":
                errors[name] = [
                    "Must be one of: "
                    + ", ".join(
                        value
                        for value, _label in filterset.filters["ordering"].field.choices
                        if value
                    )
                    + "."
                ]
            else:
                errors[name] = list(messages)
        raise ValidationError(errors)
    return filterset.qs


def connection_counts(*, customer: Customer) -> dict[str, Any]:
    """How many connections the customer has (as the company/account: the list of
    `GET /customers/{ref}/connections`) and holds towards others, by role; one query."""
    from relations.models import Connection

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


def field_definitions_for(*, organisation: Organisation) -> QuerySet[CustomerFieldDefinition]:
    return CustomerFieldDefinition.objects.for_organisation(organisation).order_by("key")


def field_definition_get(*, organisation: Organisation, key: str) -> CustomerFieldDefinition:
    definition = field_definitions_for(organisation=organisation).filter(key=key).first()
    if definition is None:
        raise Http404("Customer field not found")
    return definition
