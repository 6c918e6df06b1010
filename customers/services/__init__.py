"""Every write of customers and customer field definitions."""

from customers.services.customers import (
    CustomerExists,
    UpsertResult,
    customer_deactivate,
    customer_save,
    customer_set_onboarding_status,
    customer_update,
    customer_upsert,
    customers_touch,
)
from customers.services.fields import (
    FIELD_NOT_FOUND_MESSAGE,
    field_definition_create,
    field_definition_delete,
    field_definition_update,
)

__all__ = [
    "FIELD_NOT_FOUND_MESSAGE",
    "CustomerExists",
    "UpsertResult",
    "customer_deactivate",
    "customer_save",
    "customer_set_onboarding_status",
    "customer_update",
    "customer_upsert",
    "customers_touch",
    "field_definition_create",
    "field_definition_delete",
    "field_definition_update",
]
