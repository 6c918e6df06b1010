"""The `connects` list (README "Customers and connections: the rules"): parsing and the
set-wise invariants, with no queries.

`parse_connects` turns untrusted JSON (API body, an Excel cell) into `ConnectItem`s or
raises a ValidationError whose keys say which item and field are wrong
(`connects[2].role`). `connection_errors` checks a whole list at once against the
customers it resolved to; the API services and the Excel importer both call it, so
both refuse exactly the same lists with exactly the same words.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from customers.models import AccountType
from customers.validation import FieldErrors, clean_reference
from relations.models import PERCENTAGE_ROLES, PERSON_ONLY_ROLES, ROLE_ALIASES, Role

ITEM_KEYS = ("referenceId", "customer", "role", "ownershipPercentage", "validFrom", "validTo")
MAX_PERCENTAGE = Decimal("100")
PERCENTAGE_PLACES = 4

# Seed 004's relation names, and seed 003's REPRESENTATIVE, as the canonical roles they
# stand for. `director-and-shareholder` is two connections.
ROLE_INPUTS: dict[str, tuple[Role, ...]] = {
    **{role.value: (role,) for role in Role},
    **{alias: (role,) for alias, role in ROLE_ALIASES.items()},
    "director": (Role.DIRECTOR,),
    "shareholder": (Role.SHAREHOLDER,),
    "authorized-person": (Role.AUTHORIZED_PERSON,),
    "director-and-shareholder": (Role.DIRECTOR, Role.SHAREHOLDER),
}
VALID_ROLES_TEXT = ", ".join(Role.values)

# ASCII digits only: "١٠" (Arabic-Indic digits) is refused, not read as 10.
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DECIMAL_RE = re.compile(r"[0-9]+(\.[0-9]+)?")


@dataclass(frozen=True)
class ConnectItem:
    """One connection asked for: `reference_id` holds `role` towards the customer."""

    reference_id: str
    role: str
    ownership_percentage: Decimal | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    # Seed 004's inline customer payload, created or updated with the connection.
    customer: dict[str, Any] | None = field(default=None, hash=False)
    # Position in the submitted list, for error messages; not part of the value.
    index: int = field(default=0, compare=False)

    @property
    def key(self) -> tuple[str, str, date | None, date | None]:
        """What identifies a connection across a full replacement (PUT keeps its id)."""
        return (self.reference_id, self.role, self.valid_from, self.valid_to)


def format_percentage(value: Decimal, places: int = 4) -> str:
    """`30`, `33.3333`, `12.5`, `100`: rounded half-up to `places`, trailing zeros
    dropped. The one way a percentage is written (API, exports, admin, messages)."""
    quantum = Decimal(1).scaleb(-places)
    text = format(value.quantize(quantum, rounding=ROUND_HALF_UP), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def parse_percentage(value: Any) -> Decimal | None:
    """A percentage sent as a string (`"30.5"`) or a JSON number; None when absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("Must be a number or a decimal string, not a boolean.")
    if isinstance(value, str):
        text = value.strip()
        if not _DECIMAL_RE.fullmatch(text):
            raise ValueError(f'"{value}" is not a decimal number such as "51" or "30.5".')
        number = Decimal(text)
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        # repr() is the shortest text that round-trips: 30.5 → Decimal("30.5").
        try:
            number = Decimal(repr(value))
        except InvalidOperation:
            raise ValueError("Must be a finite number.") from None
    elif isinstance(value, Decimal):
        number = value
    else:
        raise ValueError("Must be a number or a decimal string.")
    if not number.is_finite():
        raise ValueError("Must be a finite number.")
    if not Decimal(0) < number <= MAX_PERCENTAGE:
        raise ValueError("Must be greater than 0 and at most 100.")
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -PERCENTAGE_PLACES:
        raise ValueError(f"Must have at most {PERCENTAGE_PLACES} decimal places.")
    return number


def parse_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        raise ValueError("Must be a date in the format YYYY-MM-DD.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f'"{value}" is not a valid date.') from None


def _roles(value: Any) -> tuple[Role, ...]:
    if isinstance(value, str) and value in ROLE_INPUTS:
        return ROLE_INPUTS[value]
    shown = f'"{value}"' if isinstance(value, str) else str(value)
    raise ValueError(f"Unknown role {shown}. Use one of {VALID_ROLES_TEXT}")


def parse_connect_item(
    raw: Any, *, path: str, index: int = 0, allowed_keys: Sequence[str] = ITEM_KEYS
) -> tuple[list[ConnectItem], dict[str, list[str]]]:
    """One raw item → its ConnectItems (two for director-and-shareholder) and the errors,
    keyed `<path>.<field>` (or `<path>` for the item as a whole)."""
    errors = FieldErrors()

    def key(name: str | None) -> str:
        if name is None:
            return path or "__all__"
        return f"{path}.{name}" if path else name

    def fail(name: str | None, message: str) -> None:
        errors.add(key(name), message)

    if not isinstance(raw, Mapping):
        fail(None, "Must be an object with referenceId and role.")
        return [], errors.by_field
    unknown = [str(name) for name in raw if name not in allowed_keys]
    if unknown:
        fail(
            None,
            f"Unknown field(s): {', '.join(sorted(unknown))}. Allowed: {', '.join(allowed_keys)}.",
        )

    reference: str | None = None
    if raw.get("referenceId") is not None:
        reference = clean_reference(errors, key("referenceId"), raw["referenceId"])

    inline: dict[str, Any] | None = None
    if raw.get("customer") is not None:
        payload = raw["customer"]
        if not isinstance(payload, Mapping):
            fail("customer", "Must be an object (referenceId, name, accountTypeId, …).")
        elif "connects" in payload:
            fail("customer", "An inline customer cannot carry connects of its own.")
        else:
            inline = dict(payload)
            inline_ref: str | None = None
            if inline.get("referenceId") is not None:
                inline_ref = clean_reference(
                    errors, key("customer.referenceId"), inline["referenceId"]
                )
            if inline_ref is not None and reference is not None and inline_ref != reference:
                fail(
                    "customer.referenceId",
                    f'"{inline_ref}" does not match the item\'s referenceId "{reference}".',
                )
            reference = reference if reference is not None else inline_ref
            if reference is not None:
                inline["referenceId"] = reference
    if reference is None and not any(
        name.startswith((key("referenceId"), key("customer"))) for name in errors.by_field
    ):
        fail("referenceId", "This field is required (or a customer object with a referenceId).")

    roles: tuple[Role, ...] = ()
    if raw.get("role") is None:
        fail("role", "This field is required.")
    else:
        try:
            roles = _roles(raw["role"])
        except ValueError as exc:
            fail("role", str(exc))

    percentage: Decimal | None = None
    try:
        percentage = parse_percentage(raw.get("ownershipPercentage"))
    except ValueError as exc:
        fail("ownershipPercentage", str(exc))
    if percentage is not None and roles and not PERCENTAGE_ROLES.intersection(roles):
        fail(
            "ownershipPercentage",
            f"Only SHAREHOLDER and UBO connections carry an ownership percentage "
            f"(not {raw['role']}).",
        )

    dates: dict[str, date | None] = {}
    for name in ("validFrom", "validTo"):
        try:
            dates[name] = parse_date(raw.get(name))
        except ValueError as exc:
            fail(name, str(exc))
    valid_from, valid_to = dates.get("validFrom"), dates.get("validTo")
    if valid_from and valid_to and valid_from > valid_to:
        fail("validTo", f"Must not be before validFrom ({valid_from.isoformat()}).")

    if errors.by_field or reference is None:
        return [], errors.by_field
    return [
        ConnectItem(
            reference_id=reference,
            role=role.value,
            ownership_percentage=percentage if role in PERCENTAGE_ROLES else None,
            valid_from=valid_from,
            valid_to=valid_to,
            customer=inline,
            index=index,
        )
        for role in roles
    ], errors.by_field


def parse_connects(raw: object) -> list[ConnectItem]:
    """Validate the structure of a `connects` list; raise ValidationError on any fault."""
    if not isinstance(raw, list):
        raise ValidationError("connects must be a list")
    limit = settings.KYC_MAX_CONNECTS
    if len(raw) > limit:
        raise ValidationError(f"connects may hold at most {limit} items (got {len(raw)})")
    items: list[ConnectItem] = []
    errors = FieldErrors()
    inline_by_ref: dict[str, dict[str, Any]] = {}
    for index, raw_item in enumerate(raw):
        path = f"connects[{index}]"
        parsed, item_errors = parse_connect_item(raw_item, path=path, index=index)
        errors.extend(item_errors)
        for item in parsed[:1]:
            if item.customer is None:
                continue
            earlier = inline_by_ref.setdefault(item.reference_id, item.customer)
            if earlier != item.customer:
                errors.add(
                    f"{path}.customer",
                    f"Differs from the inline customer {item.reference_id} given earlier "
                    "in the list.",
                )
        items.extend(parsed)
    errors.raise_if_any()
    return items


# --- set-wise invariants ------------------------------------------------------------


def _overlap(a: ConnectItem, b: ConnectItem) -> bool:
    """Inclusive periods; None is open-ended."""
    a_first = a.valid_from is None or b.valid_to is None or a.valid_from <= b.valid_to
    b_first = b.valid_from is None or a.valid_to is None or b.valid_from <= a.valid_to
    return a_first and b_first


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def max_shareholding(items: Sequence[ConnectItem]) -> tuple[Decimal, date | None]:
    """The highest total of direct SHAREHOLDER percentages on any date, and the first
    date it holds (None: from the start, before any dated holding begins).

    A sweep over the days holdings start and end: the total only rises where one starts.
    """
    changes: dict[date | None, Decimal] = {}
    for item in items:
        if item.role != Role.SHAREHOLDER or item.ownership_percentage is None:
            continue
        percentage = item.ownership_percentage
        changes[item.valid_from] = changes.get(item.valid_from, Decimal(0)) + percentage
        if item.valid_to is not None and item.valid_to < date.max:
            ends = item.valid_to + timedelta(days=1)
            changes[ends] = changes.get(ends, Decimal(0)) - percentage
    best, best_at = Decimal(0), None
    total = Decimal(0)
    for day in sorted(changes, key=lambda day: (day is not None, day or date.min)):
        total += changes[day]
        if total > best:
            best, best_at = total, day
    return best, best_at


def connection_errors(
    *,
    customer_ref: str,
    customer_account_type: int,
    items: Sequence[ConnectItem],
    holders: Mapping[str, tuple[int, int]],
) -> list[str]:
    """Every connection rule a list of connections of one customer breaks, as messages.

    `holders` maps each referenceId that resolved in the organisation to
    (customer id, account type). Pure: no queries, so the importer can run it per row.
    `customer_account_type` is part of the contract for rules on the customer's side;
    no connection rule depends on it today (seed 001 gives a person UBOs and directors).
    """
    del customer_account_type
    messages: list[str] = []

    unknown = _unique(item.reference_id for item in items if item.reference_id not in holders)
    if unknown:
        messages.append(f"Connected customer(s) not found: {', '.join(unknown)}")

    for ref in _unique(item.reference_id for item in items if item.reference_id == customer_ref):
        messages.append(f"A customer cannot be connected to itself ({ref})")

    wrong_type = _unique(
        f"Role {item.role} is only valid for Person customers ({item.reference_id})"
        for item in items
        if item.role in PERSON_ONLY_ROLES
        and item.reference_id in holders
        and holders[item.reference_id][1] != AccountType.PERSON
    )
    messages.extend(wrong_type)

    messages.extend(
        _unique(
            f"Role {item.role} does not carry an ownership percentage ({item.reference_id})"
            for item in items
            if item.ownership_percentage is not None and item.role not in PERCENTAGE_ROLES
        )
    )

    by_holder_role: dict[tuple[str, str], list[ConnectItem]] = {}
    for item in items:
        by_holder_role.setdefault((item.reference_id, item.role), []).append(item)
    for (ref, role), group in by_holder_role.items():
        if any(_overlap(a, b) for i, a in enumerate(group) for b in group[i + 1 :]):
            messages.append(
                f"Duplicate connection: {ref} already holds {role} over an overlapping period"
            )

    total, on = max_shareholding(items)
    if total > MAX_PERCENTAGE:
        when = f" on {on.isoformat()}" if on is not None else ""
        messages.append(
            f"Shareholdings of {customer_ref} add up to {format_percentage(total)}%{when} "
            f"(at most {format_percentage(MAX_PERCENTAGE)}%)"
        )
    return messages
