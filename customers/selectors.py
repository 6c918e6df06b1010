"""Reads of customers: one place for the queries the API and the admin share."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from customers.filters import CustomerFilter
from customers.models import Customer, CustomerFieldDefinition
from organisations.models import Organisation


def customer_list(*, organisation: Organisation, filters: Any) -> QuerySet[Customer]:
    """The organisation's customers filtered by the query parameters of `GET /customers`
    (filters, search, ordering); raises ValidationError naming the filter whose value is wrong."""
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


def field_definitions_for(*, organisation: Organisation) -> QuerySet[CustomerFieldDefinition]:
    return CustomerFieldDefinition.objects.for_organisation(organisation).order_by("key")
