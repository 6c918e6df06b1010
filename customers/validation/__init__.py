"""Customer payload validation shared by the API, the admin and the Excel import."""

from customers.validation.customer import CleanedCustomer, clean_customer, record_errors
from customers.validation.values import (
    ADDRESS_KEYS,
    FIELD_KEY_RE,
    IDENTITY_TYPES,
    RESERVED_KEYS,
    FieldErrors,
    clean_custom_value,
    clean_reference_id,
    require_object,
)

__all__ = [
    "ADDRESS_KEYS",
    "FIELD_KEY_RE",
    "IDENTITY_TYPES",
    "RESERVED_KEYS",
    "CleanedCustomer",
    "FieldErrors",
    "clean_custom_value",
    "clean_customer",
    "clean_reference_id",
    "record_errors",
    "require_object",
]
