"""Customer field definitions (seed 001): an organisation's own customer fields.

Key and type cannot change after creation: stored values are keyed and typed by them.
Deleting a definition keeps the values already stored on customers (nothing of a
compliance record is erased); the API shows only values that have a definition.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from customers.models import CustomerFieldDefinition, FieldType
from customers.validation import (
    FIELD_KEY_RE,
    RESERVED_KEYS,
    FieldErrors,
    clean_identifier,
    code_point,
    control_character,
    require_object,
)
from customers.validation.values import CUSTOM_KEY_MAX
from organisations.models import Organisation

DEFINITION_KEYS = ("key", "name", "type", "required", "choices")
FIELD_NOT_FOUND_MESSAGE = "Customer field not found"
CHOICES_MAX = 500
CHOICE_MAX_LENGTH = 200


def _exists_message(key: str) -> str:
    return f"A field with key {key} already exists"


def _clean_key(errors: FieldErrors, value: Any) -> str | None:
    """The identifier rule (normalised, no invisible characters), then the key's format."""
    key = clean_identifier(errors, "key", value, max_length=CUSTOM_KEY_MAX)
    if key is None:
        return None
    if not FIELD_KEY_RE.fullmatch(key):
        errors.add(
            "key",
            "Must start with a letter and hold only letters, digits and underscores "
            "(at most 64 characters).",
        )
        return None
    if key in RESERVED_KEYS:
        errors.add(
            "key", f"'{key}' is reserved: {', '.join(sorted(RESERVED_KEYS))} cannot be field keys."
        )
        return None
    return key


def _clean_choices(errors: FieldErrors, value: Any) -> list[str] | None:
    if not isinstance(value, list) or not value:
        errors.add("choices", "A choice field needs a non-empty list of strings.")
        return None
    if len(value) > CHOICES_MAX:
        errors.add("choices", f"At most {CHOICES_MAX} choices allowed (got {len(value)}).")
        return None
    if not all(isinstance(item, str) and item.strip() for item in value):
        errors.add("choices", "Every choice must be a non-empty string.")
        return None
    if any(len(item) > CHOICE_MAX_LENGTH for item in value):
        errors.add("choices", f"Each choice is at most {CHOICE_MAX_LENGTH} characters.")
        return None
    for number, item in enumerate(value, start=1):
        control = control_character(item)
        if control is not None:
            errors.add(
                "choices",
                f"Choice {number} must not contain the control character {code_point(control)}.",
            )
            return None
    if len(set(value)) != len(value):
        duplicates = sorted({item for item in value if value.count(item) > 1})
        errors.add("choices", f"Choices must be unique; repeated: {', '.join(duplicates)}.")
        return None
    return list(value)


def _clean(
    data: Any, *, existing: CustomerFieldDefinition | None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    require_object(data)
    errors = FieldErrors()
    unknown = [key for key in data if key not in DEFINITION_KEYS]
    if unknown:
        errors.add(
            "__all__",
            f"Unknown key(s): {', '.join(k[:64] for k in unknown[:10])}. "
            f"Allowed keys: {', '.join(DEFINITION_KEYS)}.",
        )
    values: dict[str, Any] = {}
    if existing is None:
        key = _clean_key(errors, data.get("key"))
        if key is not None:
            values["key"] = key
        field_type = data.get("type", FieldType.TEXT)
        if field_type not in FieldType.values:
            errors.add("type", f"Must be one of: {', '.join(FieldType.values)}.")
        else:
            values["field_type"] = field_type
    else:
        if "key" in data and data["key"] != existing.key:
            errors.add("key", "Cannot be changed: stored values are keyed by it.")
        if "type" in data and data["type"] != existing.field_type:
            errors.add("type", "Cannot be changed: stored values are typed by it.")
        values["field_type"] = existing.field_type
    if "name" in data or existing is None:
        name = data.get("name")
        control = control_character(name) if isinstance(name, str) else None
        if not isinstance(name, str) or not name.strip():
            errors.add("name", "This field is required: a display name.")
        elif len(name) > 200:
            errors.add("name", f"At most 200 characters allowed (got {len(name)}).")
        elif control is not None:
            errors.add("name", f"Must not contain the control character {code_point(control)}.")
        else:
            values["name"] = name.strip()
    if "required" in data:
        if not isinstance(data["required"], bool):
            errors.add("required", "Must be true or false.")
        else:
            values["required"] = data["required"]
    field_type = values.get("field_type")
    if field_type == FieldType.CHOICE:
        if "choices" in data or existing is None:
            choices = _clean_choices(errors, data.get("choices"))
            if choices is not None:
                values["choices"] = choices
    elif field_type is not None and data.get("choices") not in (None, []):
        errors.add("choices", "Only fields of type choice have choices.")
    return values, errors.by_field


def field_definition_create(*, organisation: Organisation, data: Any) -> CustomerFieldDefinition:
    values, errors = _clean(data, existing=None)
    if errors:
        raise ValidationError(errors)
    definition = CustomerFieldDefinition(organisation=organisation, **values)
    if (
        CustomerFieldDefinition.objects.for_organisation(organisation)
        .filter(key=definition.key)
        .exists()
    ):
        raise ValidationError(_exists_message(definition.key))
    definition.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            definition.save()
    except IntegrityError:
        raise ValidationError(_exists_message(definition.key)) from None
    return definition


def field_definition_update(
    *, definition: CustomerFieldDefinition, data: Any
) -> CustomerFieldDefinition:
    """PATCH: name, required and (for choice fields) choices."""
    values, errors = _clean(data, existing=definition)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = _lock(definition)
        changed = False
        for name, value in values.items():
            if getattr(locked, name) != value:
                setattr(locked, name, value)
                changed = True
        if changed:
            locked.full_clean(validate_unique=False, validate_constraints=False)
            locked.save()
    return locked


def field_definition_delete(*, definition: CustomerFieldDefinition) -> None:
    with transaction.atomic():
        _lock(definition).delete()


def _lock(definition: CustomerFieldDefinition) -> CustomerFieldDefinition:
    """The definition's row, locked until the transaction ends. A request that found
    it may arrive after another one deleted it: then it does not exist any more."""
    locked = CustomerFieldDefinition.objects.select_for_update().filter(pk=definition.pk).first()
    if locked is None:
        raise CustomerFieldDefinition.DoesNotExist(FIELD_NOT_FOUND_MESSAGE)
    return locked
