"""Reads of customers: one place for the queries the API and the admin share."""

from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from customers.filters import CustomerFilter
from customers.models import Customer, CustomerFieldDefinition
from kycregistry.compiled import CompiledQuery, CompiledRows
from organisations.models import Organisation
from organisations.querysets import ORGANISATION

# `GET /customers` without a filter (read by page, not by cursor): the list most read,
# compiled once (kycregistry.compiled) instead of built and compiled per request.
DEFAULT_LIST = CompiledQuery(
    lambda: CustomerFilter.defaults(Customer.objects.for_organisation(ORGANISATION))
)


def customer_pages(
    *, organisation: Organisation, filters: Any
) -> QuerySet[Customer] | CompiledRows[Customer]:
    """`customer_list` for pages by number: with no filter asked for, the compiled
    default list's rows (a test holds it to customer_list's query)."""
    if CustomerFilter.asked_for(filters):
        return customer_list(organisation=organisation, filters=filters)
    return DEFAULT_LIST.rows(organisation=organisation.pk)


def customer_list(*, organisation: Organisation, filters: Any) -> QuerySet[Customer]:
    """The organisation's customers filtered by the query parameters of `GET /customers`
    (filters, search, ordering); raises ValidationError naming the filter whose value is wrong."""
    customers = Customer.objects.for_organisation(organisation)
    if not CustomerFilter.asked_for(filters):
        return CustomerFilter.defaults(customers)
    filterset = CustomerFilter(data=filters, queryset=customers)
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


def field_definitions_for(*, organisation: Organisation) -> QuerySet[CustomerFieldDefinition]:
    return CustomerFieldDefinition.objects.for_organisation(organisation).order_by("key")


# Read by every customer write and every answer showing custom field values: compiled
# once (kycregistry.compiled). In key order, the model's ordering.
FIELD_DEFINITIONS = CompiledQuery(
    lambda: CustomerFieldDefinition.objects.for_organisation(ORGANISATION)
)


def field_definitions_list(*, organisation_id: UUID) -> list[CustomerFieldDefinition]:
    """The organisation's field definitions in key order."""
    return FIELD_DEFINITIONS.run(organisation=organisation_id)
