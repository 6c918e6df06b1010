"""The template's flat identity and profile columns.

Each of `givenName`, `email`, `addressCity`, … is one key of the API's nested
`identity` or `profile` object; the address columns fill the person's
`residentialAddress` or the company's `registrationAddress`, by the row's
accountTypeId. A row's flat cells are folded into those objects before validation, so
they go through the API's rules and merge into the stored customer as the API's do: an
empty cell leaves the stored value alone. A custom field whose key is one of these
names keeps its column (its definition wins).
"""

from datetime import date, datetime
from typing import Any

from customers.models import AccountType
from customers.validation.values import ADDRESS_KEYS

ADDRESS = "address"  # the person's or the company's address key, by account type

FLAT_COLUMNS: dict[str, tuple[str, ...]] = {
    "givenName": ("identity", "givenName"),
    "familyName": ("identity", "familyName"),
    "birthDate": ("identity", "birthDate"),
    "legalName": ("identity", "legalName"),
    "incorporationDate": ("identity", "incorporationDate"),
    "country": ("identity", "country"),
    "email": ("profile", "email"),
    "phone": ("profile", "phone"),
    "addressStreet": ("profile", ADDRESS, "street"),
    "addressHouseNumber": ("profile", ADDRESS, "houseNumber"),
    "addressRefinement": ("profile", ADDRESS, "refinement"),
    "addressPostalCode": ("profile", ADDRESS, "postalCode"),
    "addressCity": ("profile", ADDRESS, "city"),
    "addressRegion": ("profile", ADDRESS, "region"),
    "addressCountry": ("profile", ADDRESS, "country"),
}


def flat_columns(custom_keys: set[str] | frozenset[str]) -> list[str]:
    """The flat columns in template order, without those a custom field takes."""
    return [name for name in FLAT_COLUMNS if name not in custom_keys]


def _account_type(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _address_key(data: dict[str, Any]) -> str:
    kind = _account_type(data.get("accountTypeId"))
    # An invalid accountTypeId is refused by validation; the address waits under the
    # person's key meanwhile.
    return ADDRESS_KEYS.get(kind, ADDRESS_KEYS[AccountType.PERSON])  # type: ignore[call-overload]


def cell_value(value: Any) -> Any:
    """A cell as the API's JSON would carry it: a date as YYYY-MM-DD, a whole number
    (a house number or postal code typed as a number) as its digits."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def fold(data: dict[str, Any], columns: list[str]) -> None:
    """Move the row's cells of the flat `columns` into its identity and profile objects
    (in place). An `identity` or `profile` cell that is not an object is left for
    validation to refuse."""
    for name in columns:
        if name not in data:
            continue
        value = cell_value(data.pop(name))
        section, *path = FLAT_COLUMNS[name]
        target = data.setdefault(section, {})
        if not isinstance(target, dict):
            continue
        if path[0] == ADDRESS:
            target = target.setdefault(_address_key(data), {})
            if not isinstance(target, dict):
                continue
            path = path[1:]
        target[path[0]] = value


def column_of(key: str, columns: list[str]) -> str | None:
    """The flat column an error key names (`identity.givenName` → givenName,
    `profile.registrationAddress.city` → addressCity), when the sheet has it."""
    parts = key.split(".")
    if len(parts) == 3 and parts[1] in ADDRESS_KEYS.values():
        parts[1] = ADDRESS  # either address names the same column
    for name in columns:
        if list(FLAT_COLUMNS[name]) == parts:
            return name
    return None
