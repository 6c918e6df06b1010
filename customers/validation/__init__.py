"""Customer payload validation shared by the API, the admin and the Excel import."""

from customers.validation.customer import CleanedCustomer, clean_customer, record_errors
from customers.validation.values import (
    ADDRESS_KEYS,
    ADDRESS_PARTS,
    FIELD_KEY_RE,
    IDENTITY_TYPES,
    RESERVED_KEYS,
    RESERVED_REFERENCE_IDS,
    FieldErrors,
    clean_custom_value,
    clean_identifier,
    clean_reference,
    clean_reference_id,
    clean_text,
    code_point,
    control_character,
    reference_or_none,
    require_object,
)

__all__ = [
    "ADDRESS_KEYS",
    "ADDRESS_PARTS",
    "FIELD_KEY_RE",
    "IDENTITY_TYPES",
    "RESERVED_KEYS",
    "RESERVED_REFERENCE_IDS",
    "CleanedCustomer",
    "FieldErrors",
    "clean_custom_value",
    "clean_customer",
    "clean_identifier",
    "clean_reference",
    "clean_reference_id",
    "clean_text",
    "code_point",
    "control_character",
    "record_errors",
    "reference_or_none",
    "require_object",
]
