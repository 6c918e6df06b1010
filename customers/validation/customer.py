"""Validation of a customer payload (seeds 001 and 004), without touching the database.

`clean_customer` turns the JSON body of `POST /customers` / `PATCH /customers/{ref}`
(and an Excel row, through the importer) into model field values. Every error names
the field with a dotted path (`identity.identifications[0].issueDate`) and says what
to send instead, so the 400 `message` reads well alone.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from customers.models import AccountType
from customers.validation.values import (
    ADDRESS_KEYS,
    ADDRESS_PART_MAX,
    ADDRESS_PARTS,
    COMPANY_IDENTITY,
    CUSTOM_KEY_MAX,
    EXTERNAL_ID_MAX,
    IDENTITY_TYPES,
    ISO_REGION_COUNTRIES,
    NAME_MAX,
    PERSON_IDENTITY,
    PROFILE_KEYS,
    RESERVED_KEYS,
    SHARED_IDENTITY_KEYS,
    FieldErrors,
    check_unknown_keys,
    clean_country,
    clean_custom_value,
    clean_date,
    clean_email,
    clean_identifications,
    clean_phone,
    clean_reference,
    clean_region,
    clean_text,
    deprecated_identification_numbers,
    describe,
    require_object,
)

if TYPE_CHECKING:
    from customers.models import Customer, CustomerFieldDefinition


# AccountType.values builds a new list on every access; validation runs per Excel row.
ACCOUNT_TYPES = frozenset(AccountType.values)


@dataclass
class CleanedCustomer:
    """What a payload changes: model field values, the resulting custom fields, the
    keys that matched no definition, and the raw `connects` list (None when absent)."""

    fields: dict[str, Any] = field(default_factory=dict)
    custom_fields: dict[str, Any] = field(default_factory=dict)
    ignored_fields: list[str] = field(default_factory=list)
    connects: Any = None


def _account_type(
    errors: FieldErrors, data: dict[str, Any], existing: "Customer | None", partial: bool
) -> int | None:
    raw = data.get("accountTypeId")
    if "accountTypeId" not in data or raw is None:
        if existing is not None:
            return existing.account_type
        if not partial:
            errors.add("accountTypeId", "This field is required: 1 (Person) or 2 (Company).")
        return None
    if isinstance(raw, str) and raw.strip() in ("1", "2"):
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or raw not in ACCOUNT_TYPES:
        errors.add("accountTypeId", "Must be 1 (Person) or 2 (Company).")
        return None
    if existing is not None and raw != existing.account_type:
        errors.add(
            "accountTypeId",
            f"Cannot be changed after creation: this customer is a "
            f"{AccountType(existing.account_type).label} ({existing.account_type}).",
        )
        return None
    return raw


def _type_matches(errors: FieldErrors, path: str, value: Any, account_type: int | None) -> None:
    if value is None:
        return
    allowed = {"individual": AccountType.PERSON, "corporate": AccountType.COMPANY}
    if not isinstance(value, str) or value not in allowed:
        errors.add(path, "Must be 'individual' or 'corporate'.")
    elif account_type is not None and allowed[value] != account_type:
        errors.add(
            path,
            f"'{value}' does not match accountTypeId {account_type}: use "
            f"'{IDENTITY_TYPES[AccountType(account_type)]}'.",
        )


def _clean_identity(
    errors: FieldErrors,
    raw: Any,
    account_type: int | None,
    existing: "Customer | None",
    fields: dict[str, Any],
) -> None:
    if raw is None:
        return
    if not isinstance(raw, dict):
        errors.add("identity", f"Must be an object, not {describe(raw)}.")
        return
    _type_matches(errors, "identity.type", raw.get("type"), account_type)
    if account_type is None:
        return
    own = PERSON_IDENTITY if account_type == AccountType.PERSON else COMPANY_IDENTITY
    check_unknown_keys(errors, "identity", raw, (*SHARED_IDENTITY_KEYS, *own))
    for key, (model_field, max_length) in own.items():
        if key not in raw:
            continue
        path = f"identity.{key}"
        if max_length is None:
            if raw[key] is None:
                fields[model_field] = None
            else:
                parsed = clean_date(errors, path, raw[key], past=True)
                if parsed is not None:
                    fields[model_field] = parsed
        else:
            text = clean_text(errors, path, raw[key], max_length=max_length)
            if text is not None:
                fields[model_field] = text
    if "country" in raw:
        country = clean_country(errors, "identity.country", raw["country"])
        if country is not None:
            fields["country"] = country
    if "identifications" in raw or "identificationNumbers" in raw:
        items = raw.get("identifications")
        items = [] if items is None else items
        legacy = deprecated_identification_numbers(
            errors, "identity.identificationNumbers", raw.get("identificationNumbers")
        )
        combined = [*items, *legacy] if isinstance(items, list) else items
        identifications = clean_identifications(errors, "identity.identifications", combined)
        if identifications is not None:
            fields["identifications"] = identifications
    # givenName/familyName (legalName) are required whenever an identity is kept.
    required = ("givenName", "familyName") if account_type == AccountType.PERSON else ("legalName",)
    for key in required:
        model_field = own[key][0]
        current = fields.get(model_field, getattr(existing, model_field, "") if existing else "")
        if not current and not errors.by_field.get(f"identity.{key}"):
            errors.add(f"identity.{key}", "This field is required in an identity.")


def _clean_address(
    errors: FieldErrors, path: str, raw: Any, existing: dict[str, Any]
) -> dict[str, Any] | None:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors.add(path, f"Must be an object, not {describe(raw)}.")
        return None
    check_unknown_keys(errors, path, raw, ADDRESS_PARTS)
    address = dict(existing)
    for key in ADDRESS_PARTS:
        if key not in raw:
            continue
        if key == "country":
            value = clean_country(errors, f"{path}.country", raw[key])
        else:
            value = clean_text(errors, f"{path}.{key}", raw[key], max_length=ADDRESS_PART_MAX)
        if value is None:
            continue
        if value == "" and raw[key] is None:
            address.pop(key, None)
        else:
            address[key] = value
    country = address.get("country", "")
    if address.get("region") and country in ISO_REGION_COUNTRIES:
        region = clean_region(errors, f"{path}.region", country, address["region"])
        if region is not None:
            address["region"] = region
    return address


def _clean_profile(
    errors: FieldErrors,
    raw: Any,
    account_type: int | None,
    existing: "Customer | None",
    fields: dict[str, Any],
) -> None:
    if raw is None:
        return
    if not isinstance(raw, dict):
        errors.add("profile", f"Must be an object, not {describe(raw)}.")
        return
    check_unknown_keys(errors, "profile", raw, PROFILE_KEYS)
    _type_matches(errors, "profile.identityType", raw.get("identityType"), account_type)
    given = [key for key in ("residentialAddress", "registrationAddress") if key in raw]
    if len(given) == 2:
        errors.add(
            "profile",
            "Send either residentialAddress (persons) or registrationAddress (companies), "
            "not both.",
        )
    elif given:
        key = given[0]
        address = _clean_address(
            errors, f"profile.{key}", raw[key], existing.address if existing else {}
        )
        if address is not None:
            fields["address"] = address
    if "phone" in raw:
        phone = clean_phone(errors, "profile.phone", raw["phone"])
        if phone is not None:
            fields["phone"] = phone
    if "email" in raw:
        email = clean_email(errors, "profile.email", raw["email"])
        if email is not None:
            fields["email"] = email


def clean_customer(
    *,
    data: Any,
    definitions: "dict[str, CustomerFieldDefinition]",
    existing: "Customer | None" = None,
    reject_unknown: bool = False,
    partial: bool = False,
) -> CleanedCustomer:
    """Validate a customer payload; no queries.

    `existing` is the stored customer a POST updates or a PATCH changes: nested identity,
    address and custom fields merge into it. `partial` (PATCH) makes name, referenceId
    and accountTypeId optional and skips the required custom fields check.
    """
    require_object(data)
    errors = FieldErrors()
    fields: dict[str, Any] = {}

    if "referenceId" in data or not partial:
        reference = clean_reference(errors, "referenceId", data.get("referenceId"))
        if reference is not None:
            if existing is not None and reference != existing.reference_id:
                errors.add("referenceId", "Cannot be changed: it identifies the customer.")
            else:
                fields["reference_id"] = reference

    account_type = _account_type(errors, data, existing, partial)
    if account_type is not None:
        fields["account_type"] = account_type

    if "externalId" in data:
        external = clean_text(
            errors, "externalId", data["externalId"], max_length=EXTERNAL_ID_MAX, allow_int=True
        )
        if external is not None:
            fields["external_id"] = external

    identity = data.get("identity")
    if identity is None and isinstance(data.get("profile"), dict):
        identity_type = data["profile"].get("identityType")
    else:
        identity_type = identity.get("type") if isinstance(identity, dict) else None
    if account_type is None and not partial and isinstance(identity_type, str):
        # accountTypeId failed already; still check the nested objects against their own type.
        account_type = {"individual": 1, "corporate": 2}.get(identity_type)
    _clean_identity(errors, identity, account_type, existing, fields)
    _clean_profile(errors, data.get("profile"), account_type, existing, fields)

    _clean_name(errors, data, fields, existing, partial)

    custom_fields, ignored = _clean_custom_fields(
        errors, data, definitions, existing, reject_unknown=reject_unknown, partial=partial
    )
    errors.raise_if_any()
    return CleanedCustomer(
        fields=fields,
        custom_fields=custom_fields,
        ignored_fields=ignored,
        connects=data.get("connects") if "connects" in data else None,
    )


def _clean_name(
    errors: FieldErrors,
    data: dict[str, Any],
    fields: dict[str, Any],
    existing: "Customer | None",
    partial: bool,
) -> None:
    if "name" in data and data["name"] is not None:
        name = clean_text(errors, "name", data["name"], max_length=NAME_MAX, required=True)
        if name is not None:
            fields["name"] = name
        return
    # A person's or a company's identity names it when `name` is left out.
    derived = " ".join(
        part for part in (fields.get("given_name"), fields.get("family_name")) if part
    ) or fields.get("legal_name", "")
    if derived and not partial:
        fields["name"] = derived[:NAME_MAX]
    elif "name" in data or not partial:
        errors.add("name", "This field is required.")


def _clean_custom_fields(
    errors: FieldErrors,
    data: dict[str, Any],
    definitions: "dict[str, CustomerFieldDefinition]",
    existing: "Customer | None",
    *,
    reject_unknown: bool,
    partial: bool,
) -> tuple[dict[str, Any], list[str]]:
    values = dict(existing.custom_fields) if existing is not None else {}
    ignored: list[str] = []
    for key, value in data.items():
        if key in RESERVED_KEYS:
            continue
        if len(key) > CUSTOM_KEY_MAX:
            errors.add(
                f"{key[:CUSTOM_KEY_MAX]}…", f"Field keys are at most {CUSTOM_KEY_MAX} characters."
            )
            continue
        definition = definitions.get(key)
        if definition is None:
            if reject_unknown:
                errors.add(
                    key,
                    "Unknown field: no customer field has this key. Define it under "
                    "/api/v1/customer-fields or leave it out.",
                )
            else:
                ignored.append(key)
            continue
        if value is None:
            values.pop(key, None)
            continue
        typed = clean_custom_value(errors, key, definition, value)
        if typed is not None and typed != "":
            values[key] = typed
        elif typed == "":
            values.pop(key, None)
    if not partial:
        for key, definition in definitions.items():
            if definition.required and key not in values and key not in errors.by_field:
                errors.add(key, f"This field is required ({definition.name}).")
    return values, ignored


def record_errors(customer: "Customer") -> dict[str, list[str]]:
    """The API's rules applied to a model instance (the admin's form), keyed by model
    field; valid values are normalised in place."""
    errors = FieldErrors()
    country = clean_country(errors, "country", customer.country or None)
    if country is not None:
        customer.country = country
    address_key = (
        ADDRESS_KEYS[AccountType(customer.account_type)]
        if customer.account_type in AccountType.values
        else "address"
    )
    address = _clean_address(errors, address_key, customer.address or None, {})
    if address is not None:
        customer.address = address
    phone = clean_phone(errors, "phone", customer.phone or None)
    if phone is not None:
        customer.phone = phone
    identifications = clean_identifications(errors, "identifications", customer.identifications)
    if identifications is not None:
        customer.identifications = identifications
    by_model_field: dict[str, list[str]] = {}
    for path, messages in errors.by_field.items():
        model_field = path.split(".")[0].split("[")[0]
        model_field = "address" if model_field == address_key else model_field
        prefix = "" if path == model_field else f"{path}: "
        by_model_field.setdefault(model_field, []).extend(prefix + m for m in messages)
    return by_model_field
