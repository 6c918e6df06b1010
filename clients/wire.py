"""Seed 004's client objects ⇄ the customer payload the customer services take.

A seed 004 client is `{"identity": {...}, "profile": {...}}`; the customer services
already read those two objects (customers.validation), so translating is naming the
account type after `identity.type` and, on creation, giving the customer its
referenceId (the new client's id). Every rule stays in customers.validation.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError

from customers.models import AccountType
from customers.validation import FieldErrors
from customers.validation.values import ADDRESS_KEYS, describe

IDENTITY_ACCOUNT_TYPES = {"individual": AccountType.PERSON, "corporate": AccountType.COMPANY}
# What a client may send back of what it read: ignored on input.
READ_ONLY_KEYS = ("id", "clientId", "clientNumber", "fullName", "status")
CLIENT_KEYS = ("identity", "profile")


@contextmanager
def under(path: str) -> Iterator[None]:
    """Re-raise a ValidationError with its field names prefixed by `path`."""
    try:
        yield
    except ValidationError as exc:
        raise prefixed(exc, path) from exc


def prefixed(exc: ValidationError, path: str) -> ValidationError:
    if hasattr(exc, "error_dict"):
        return ValidationError(
            {
                path if key in ("__all__", "") else f"{path}.{key}": messages
                for key, messages in exc.message_dict.items()
            }
        )
    return ValidationError({path: exc.messages})


def check_keys(
    errors: FieldErrors, path: str, raw: Mapping[str, Any], allowed: tuple[str, ...]
) -> None:
    unknown = sorted(str(key) for key in raw if key not in allowed and key not in READ_ONLY_KEYS)
    if unknown:
        errors.add(path, f"Unknown key(s): {', '.join(unknown)}. Allowed: {', '.join(allowed)}.")


def account_type_of(errors: FieldErrors, path: str, identity: Any) -> int | None:
    """The account type `identity.type` names; an error when it names none."""
    if not isinstance(identity, Mapping):
        if identity is None:
            errors.add(path, "This field is required: the client's identity (with its type).")
        else:
            errors.add(path, f"Must be an object, not {describe(identity)}.")
        return None
    kind = identity.get("type")
    if kind not in IDENTITY_ACCOUNT_TYPES:
        errors.add(f"{path}.type", "This field is required: 'individual' or 'corporate'.")
        return None
    return IDENTITY_ACCOUNT_TYPES[kind]


def create_payload(
    raw: Any,
    *,
    path: str,
    reference_id: str,
    extra_keys: tuple[str, ...] = (),
    require_address: bool = True,
) -> dict[str, Any]:
    """The customer payload of a new client: identity and (`require_address`) the
    address at a minimum."""
    errors = FieldErrors()
    if not isinstance(raw, Mapping):
        errors.add(path, "Must be an object with identity and profile.")
        errors.raise_if_any()
        raise AssertionError  # unreachable
    check_keys(errors, path, raw, (*CLIENT_KEYS, *extra_keys))
    account_type = account_type_of(errors, f"{path}.identity", raw.get("identity"))
    profile = raw.get("profile")
    if account_type is not None and require_address:
        right = ADDRESS_KEYS[AccountType(account_type)]
        sent = profile if isinstance(profile, Mapping) else {}
        if not set(sent) & set(ADDRESS_KEYS.values()) or (right in sent and sent[right] is None):
            kind = "individual" if account_type == AccountType.PERSON else "corporate"
            article = "an" if kind == "individual" else "a"
            errors.add(
                f"{path}.profile.{right}",
                f"This field is required: the address of {article} {kind} client is {right}.",
            )
    errors.raise_if_any()
    payload = {
        "referenceId": reference_id,
        "accountTypeId": account_type,
        "identity": raw["identity"],
    }
    if profile is not None:
        payload["profile"] = profile
    return payload


def update_payload(
    raw: Any, *, path: str, allowed: tuple[str, ...] = CLIENT_KEYS
) -> dict[str, Any]:
    """The PATCH payload of a client: only what is sent changes."""
    errors = FieldErrors()
    if not isinstance(raw, Mapping):
        errors.add(path, "Must be an object with identity and/or profile.")
        errors.raise_if_any()
        raise AssertionError  # unreachable
    check_keys(errors, path, raw, allowed)
    errors.raise_if_any()
    return {key: raw[key] for key in CLIENT_KEYS if key in raw}
