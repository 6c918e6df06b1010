"""Customer field definitions (seed 001): an organisation's own customer fields.

Key and type cannot change after creation: stored values are keyed and typed by them.
Deleting a definition keeps the values already stored on customers (nothing of a
compliance record is erased); the API shows only values that have a definition.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from customers.models import CustomerFieldDefinition, FieldType
from customers.validation import FIELD_KEY_RE, RESERVED_KEYS, require_object
from organisations.models import Organisation

DEFINITION_KEYS = ("key", "name", "type", "required", "choices")
CHOICES_MAX = 500
CHOICE_MAX_LENGTH = 200


def _exists_message(key: str) -> str:
    return f"A field with key {key} already exists"


def _clean_key(errors: dict[str, list[str]], value: Any) -> str | None:
    if not isinstance(value, str) or not FIELD_KEY_RE.match(value):
        errors["key"] = [
            "Must start with a letter and hold only letters, digits and underscores "
            "(at most 64 characters)."
        ]
        return None
    if value in RESERVED_KEYS:
        errors["key"] = [
            f"'{value}' is reserved: {', '.join(sorted(RESERVED_KEYS))} cannot be field keys."
        ]
        return None
    return value


def _clean_choices(errors: dict[str, list[str]], value: Any) -> list[str] | None:
    if not isinstance(value, list) or not value:
        errors["choices"] = ["A choice field needs a non-empty list of strings."]
        return None
    if len(value) > CHOICES_MAX:
        errors["choices"] = [f"At most {CHOICES_MAX} choices allowed (got {len(value)})."]
        return None
    if not all(isinstance(item, str) and item.strip() for item in value):
        errors["choices"] = ["Every choice must be a non-empty string."]
        return None
    if any(len(item) > CHOICE_MAX_LENGTH for item in value):
        errors["choices"] = [f"Each choice is at most {CHOICE_MAX_LENGTH} characters."]
        return None
    if len(set(value)) != len(value):
        duplicates = sorted({item for item in value if value.count(item) > 1})
        errors["choices"] = [f"Choices must be unique; repeated: {', '.join(duplicates)}."]
        return None
    return list(value)


def _clean(
    data: Any, *, existing: CustomerFieldDefinition | None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    require_object(data)
    errors: dict[str, list[str]] = {}
    unknown = [key for key in data if key not in DEFINITION_KEYS]
    if unknown:
        errors["__all__"] = [
            f"Unknown key(s): {', '.join(k[:64] for k in unknown[:10])}. "
            f"Allowed keys: {', '.join(DEFINITION_KEYS)}."
        ]
    values: dict[str, Any] = {}
    if existing is None:
        key = _clean_key(errors, data.get("key"))
        if key is not None:
            values["key"] = key
        field_type = data.get("type", FieldType.TEXT)
        if field_type not in FieldType.values:
            errors["type"] = [f"Must be one of: {', '.join(FieldType.values)}."]
        else:
            values["field_type"] = field_type
    else:
        if "key" in data and data["key"] != existing.key:
            errors["key"] = ["Cannot be changed: stored values are keyed by it."]
        if "type" in data and data["type"] != existing.field_type:
            errors["type"] = ["Cannot be changed: stored values are typed by it."]
        values["field_type"] = existing.field_type
    if "name" in data or existing is None:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            errors["name"] = ["This field is required: a display name."]
        elif len(name) > 200:
            errors["name"] = [f"At most 200 characters allowed (got {len(name)})."]
        else:
            values["name"] = name.strip()
    if "required" in data:
        if not isinstance(data["required"], bool):
            errors["required"] = ["Must be true or false."]
        else:
            values["required"] = data["required"]
    field_type = values.get("field_type")
    if field_type == FieldType.CHOICE:
        if "choices" in data or existing is None:
            choices = _clean_choices(errors, data.get("choices"))
            if choices is not None:
                values["choices"] = choices
    elif field_type is not None and data.get("choices") not in (None, []):
        errors["choices"] = ["Only fields of type choice have choices."]
    return values, errors


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
        locked = CustomerFieldDefinition.objects.select_for_update().get(pk=definition.pk)
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
        definition.delete()
