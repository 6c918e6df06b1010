"""Validation of single values: text, countries, dates, regions, phones, emails,
identifications and typed custom field values. Each cleaner records a message under a
dotted path and returns None, so one request reports every fault at once."""

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeGuard

import phonenumbers
import pycountry
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import timezone

from customers.models import AccountType, FieldType

if TYPE_CHECKING:
    from customers.models import CustomerFieldDefinition

RESERVED_KEYS = frozenset(
    {"name", "referenceId", "accountTypeId", "connects", "identity", "profile", "externalId"}
)
FIELD_KEY_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,63}$")

NAME_MAX = 255
REFERENCE_MAX = 128
EXTERNAL_ID_MAX = 128
CUSTOM_TEXT_MAX = 1000
ADDRESS_PART_MAX = 255
IDENTIFICATIONS_MAX = 50
CUSTOM_KEY_MAX = 64
# Integers beyond this lose precision in JavaScript clients reading the JSON.
NUMBER_MAX = 2**53 - 1

IDENTITY_TYPES = {AccountType.PERSON: "individual", AccountType.COMPANY: "corporate"}
ADDRESS_KEYS = {
    AccountType.PERSON: "residentialAddress",
    AccountType.COMPANY: "registrationAddress",
}
ADDRESS_PARTS = ("country", "region", "city", "street", "houseNumber", "postalCode", "refinement")
ISO_REGION_COUNTRIES = frozenset({"US", "CA", "MX"})
REGION_EXAMPLES = {"US": "US-CA or CA", "CA": "CA-ON or ON", "MX": "MX-JAL or JAL"}

# identity key → (model field, max length or None for dates)
PERSON_IDENTITY = {
    "givenName": ("given_name", 255),
    "familyName": ("family_name", 255),
    "birthDate": ("birth_date", None),
}
COMPANY_IDENTITY = {
    "legalName": ("legal_name", 255),
    "incorporationDate": ("incorporation_date", None),
    "corporationType": ("corporation_type", 64),
}
SHARED_IDENTITY_KEYS = ("type", "country", "identifications", "identificationNumbers")
IDENTIFICATION_KEYS = (
    "type",
    "identificationNumber",
    "issuingCountry",
    "issueDate",
    "expirationDate",
)
PROFILE_KEYS = ("identityType", "residentialAddress", "registrationAddress", "phone", "email")

# ASCII digits only: "١٠" (Arabic-Indic) or "１０" (fullwidth) are refused, not read as 10.
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
DECIMAL_RE = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")
# C0 and C1 control characters (and DEL); multi-line text keeps tab, newline and CR.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Letters that draw nothing (Hangul fillers, the combining grapheme joiner); the rest of
# the invisible characters are the ones str.isprintable() refuses: controls, format
# characters (zero-width space and joiners, BOM, soft hyphen, bidi controls), line and
# paragraph separators, surrogates, private-use and unassigned code points.
_BLANK_LETTERS = frozenset("\u034f\u115f\u1160\u3164\uffa0")
# Fixed path segments directly under /api/v1/customers/: a customer of that
# referenceId could never be addressed (tests/customers/test_identifiers.py checks
# this list against the URL configuration).
RESERVED_REFERENCE_IDS = frozenset({"bulk-upload", "business", "download-template"})
# Dot segments are resolved away by HTTP clients before a request is sent.
DOT_SEGMENTS = frozenset({".", ".."})
_email_validator = EmailValidator()


class FieldErrors:
    """Every error of one request or row: a dotted field path → its messages."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.by_field.setdefault(path, []).append(message)

    def extend(self, by_field: "Mapping[str, Iterable[str]]") -> None:
        for path, messages in by_field.items():
            self.by_field.setdefault(path, []).extend(messages)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def code_point(char: str) -> str:
    """`U+200B`: how a message names a character it cannot show."""
    return f"U+{ord(char):04X}"


def control_character(text: str, *, multiline: bool = False) -> str | None:
    """The first C0/C1 control character of `text` (tab, newline and CR are allowed
    when `multiline`), or None."""
    if text.isprintable():  # the common case, tested in C
        return None
    found = (_CONTROL_MULTILINE if multiline else _CONTROL).search(text)
    return found.group() if found else None


def invisible_character(text: str) -> str | None:
    """The first character of an identifier that draws nothing, reorders the text
    around it or is a control character, or None. Spaces are allowed (NFKC makes the
    no-break and ideographic ones ordinary spaces)."""
    if text.isprintable() and _BLANK_LETTERS.isdisjoint(text):
        return None
    for char in text:
        if char in _BLANK_LETTERS or (
            not char.isprintable() and unicodedata.category(char) != "Zs"
        ):
            return char
    return None


def normalise_identifier(text: str) -> str:
    """NFKC, then trimmed: compatibility forms fold into the ordinary character
    (fullwidth "ＣＡＦÉ" → "CAFÉ", "ﬁ" → "fi") and composed and decomposed accents
    become one, so identifiers that look alike are equal."""
    if text.isascii():
        return text.strip()
    return unicodedata.normalize("NFKC", text).strip()


def clean_text(
    errors: FieldErrors,
    path: str,
    value: Any,
    *,
    max_length: int,
    required: bool = False,
    allow_int: bool = False,
    multiline: bool = False,
) -> str | None:
    """A stripped string, "" for null/blank when optional, None after recording an error.
    Control characters are refused (tab, newline and CR are kept when `multiline`)."""
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None:
        if required:
            errors.add(path, "This field is required.")
            return None
        return ""
    if not isinstance(value, str):
        kind = "a string or an integer" if allow_int else "a string"
        errors.add(path, f"Must be {kind}, not {describe(value)}.")
        return None
    if len(value) > max_length:
        errors.add(path, f"At most {max_length} characters allowed (got {len(value)}).")
        return None
    value = value.strip()
    if required and not value:
        errors.add(path, "Must not be blank.")
        return None
    control = control_character(value, multiline=multiline)
    if control is not None:
        errors.add(path, f"Must not contain the control character {code_point(control)}.")
        return None
    return value


def require_object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationError(f"Request body must be a JSON object, not {describe(data)}.")
    return data


def clean_reference_id(value: Any, *, path: str = "referenceId") -> str:
    """The normalised referenceId, or ValidationError({path: [...]})."""
    errors = FieldErrors()
    reference = clean_reference(errors, path, value)
    errors.raise_if_any()
    assert reference is not None
    return reference


def clean_identifier(
    errors: FieldErrors, path: str, value: Any, *, max_length: int, allow_int: bool = False
) -> str | None:
    """An identifier (a referenceId, a field key): a string (an integer becomes its
    digits when `allow_int`), normalised by `normalise_identifier`, not blank, at most
    `max_length` characters, free of invisible, bidi-control and control characters.
    Records an error and returns None otherwise."""
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None:
        errors.add(path, "This field is required.")
        return None
    if not isinstance(value, str):
        kind = "a string or an integer" if allow_int else "a string"
        errors.add(path, f"Must be {kind}, not {describe(value)}.")
        return None
    if len(value) > max_length * 4:  # no normalising of a huge string to refuse it
        errors.add(path, f"At most {max_length} characters allowed (got {len(value)}).")
        return None
    hidden: str | None = None
    if value.isascii() and value.isprintable():  # the common case: nothing to fold or refuse
        text = value.strip()
    else:
        stripped = value.strip()
        text = normalise_identifier(stripped)
        # Named as sent where possible: NFKC may change it (U+3164 becomes U+1160).
        hidden = invisible_character(stripped) or invisible_character(text)
    if len(text) > max_length:
        errors.add(path, f"At most {max_length} characters allowed (got {len(text)}).")
        return None
    if not text:
        errors.add(path, "Must not be blank.")
        return None
    if hidden is not None:
        errors.add(
            path, f"Must not contain the invisible or control character {code_point(hidden)}."
        )
        return None
    return text


# A referenceId as nearly all are: printable ASCII without spaces or '/', short enough.
# Such a value passes `clean_identifier` unchanged (nothing to strip or fold).
_plain_reference = re.compile(rf"[!-.0-~]{{1,{REFERENCE_MAX}}}").fullmatch


def is_plain_reference(value: Any) -> TypeGuard[str]:
    """Whether `value` is a valid referenceId as it is, found with one regex test (the
    import checks ~4 a row; the full rule costs 3x as much)."""
    return (
        type(value) is str
        and _plain_reference(value) is not None
        and value not in RESERVED_REFERENCE_IDS
        and value not in DOT_SEGMENTS
    )


def clean_reference(errors: FieldErrors, path: str, value: Any) -> str | None:
    """The one referenceId rule of the API, the admin, connections and the import."""
    if is_plain_reference(value):
        return value
    return checked_reference(errors, path, value)


def checked_reference(errors: FieldErrors, path: str, value: Any) -> str | None:
    """`clean_reference` without the shortcut for plain values."""
    reference = clean_identifier(errors, path, value, max_length=REFERENCE_MAX, allow_int=True)
    if reference is None:
        return None
    # It is the last segment of /customers/{referenceId}: a slash could never be addressed.
    if "/" in reference:
        errors.add(path, "Must not contain '/'.")
        return None
    if reference in RESERVED_REFERENCE_IDS:
        errors.add(
            path,
            f"'{reference}' is reserved: /customers/{reference} is another path of the API.",
        )
        return None
    if reference in DOT_SEGMENTS:
        errors.add(
            path, f"'{reference}' is reserved: clients resolve it as a relative path segment."
        )
        return None
    return reference


def reference_or_none(value: Any) -> str | None:
    """The referenceId `value` stands for under `clean_reference`, or None when invalid."""
    return clean_reference(FieldErrors(), "referenceId", value)


def clean_country(errors: FieldErrors, path: str, value: Any) -> str | None:
    code = clean_text(errors, path, value, max_length=8)
    if not code:
        return code
    code = code.upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        errors.add(
            path, f"'{code}' is not an ISO 3166-1 alpha-2 country code (for example GB, DE, US)."
        )
        return None
    return code


def clean_date(errors: FieldErrors, path: str, value: Any, *, past: bool = False) -> date | None:
    """A date from "YYYY-MM-DD" (None for null); records an error and returns None."""
    if value is None:
        return None
    if isinstance(value, date):
        parsed = value
    elif not isinstance(value, str) or not DATE_RE.match(value):
        errors.add(path, "Must be a date in YYYY-MM-DD format.")
        return None
    else:
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            errors.add(path, f"'{value}' is not a valid calendar date.")
            return None
    if past and parsed > timezone.localdate():
        errors.add(path, "Must not be in the future.")
        return None
    return parsed


def clean_region(errors: FieldErrors, path: str, country: str, region: str) -> str | None:
    """For US, CA and MX the region is an ISO 3166-2 code ("US-CA" or "CA" → "US-CA")."""
    if country not in ISO_REGION_COUNTRIES or not region:
        return region
    code = region.upper()
    if "-" not in code:
        code = f"{country}-{code}"
    if not code.startswith(f"{country}-") or pycountry.subdivisions.get(code=code) is None:
        errors.add(
            path,
            f"For {country} addresses, region must be an ISO 3166-2 subdivision code such as "
            f"{REGION_EXAMPLES[country]} (got '{region}').",
        )
        return None
    return code


def clean_phone(errors: FieldErrors, path: str, value: Any) -> str | None:
    text = clean_text(errors, path, value, max_length=64)
    if not text:
        return text
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        errors.add(
            path,
            "Must be an international phone number: '+', the country code and the number, "
            "for example +441234567890.",
        )
        return None
    if not phonenumbers.is_possible_number(number):
        errors.add(path, f"'{text}' is not a possible phone number for its country code.")
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clean_email(errors: FieldErrors, path: str, value: Any) -> str | None:
    text = clean_text(errors, path, value, max_length=254)
    if not text:
        return text
    try:
        _email_validator(text)
    except ValidationError:
        errors.add(path, f"'{text}' is not a valid email address.")
        return None
    return text


def check_unknown_keys(
    errors: FieldErrors, path: str, value: dict[str, Any], allowed: tuple[str, ...]
) -> None:
    unknown = [key for key in value if key not in allowed]
    if unknown:
        shown = ", ".join(key[:CUSTOM_KEY_MAX] for key in unknown[:10])
        errors.add(path, f"Unknown key(s): {shown}. Allowed keys: {', '.join(allowed)}.")


def clean_identifications(
    errors: FieldErrors, path: str, value: Any
) -> list[dict[str, str]] | None:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add(path, f"Must be an array of objects, not {describe(value)}.")
        return None
    if len(value) > IDENTIFICATIONS_MAX:
        errors.add(
            path, f"At most {IDENTIFICATIONS_MAX} identifications allowed (got {len(value)})."
        )
        return None
    cleaned: list[dict[str, str]] = []
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        if not isinstance(item, dict):
            errors.add(item_path, f"Must be an object, not {describe(item)}.")
            continue
        check_unknown_keys(errors, item_path, item, IDENTIFICATION_KEYS)
        result: dict[str, str] = {}
        kind = clean_text(
            errors, f"{item_path}.type", item.get("type"), max_length=64, required=True
        )
        number = clean_text(
            errors,
            f"{item_path}.identificationNumber",
            item.get("identificationNumber"),
            max_length=128,
            required=True,
            allow_int=True,
        )
        if kind:
            result["type"] = kind
        if number:
            result["identificationNumber"] = number
        if item.get("issuingCountry") is not None:
            issuing = clean_country(errors, f"{item_path}.issuingCountry", item["issuingCountry"])
            if issuing:
                result["issuingCountry"] = issuing
        issued = clean_date(errors, f"{item_path}.issueDate", item.get("issueDate"), past=True)
        expires = clean_date(errors, f"{item_path}.expirationDate", item.get("expirationDate"))
        if issued:
            result["issueDate"] = issued.isoformat()
        if expires:
            result["expirationDate"] = expires.isoformat()
        if issued and expires and expires < issued:
            errors.add(f"{item_path}.expirationDate", "Must not be before issueDate.")
        cleaned.append(result)
    return cleaned


def deprecated_identification_numbers(errors: FieldErrors, path: str, value: Any) -> list[Any]:
    """Seed 004's deprecated `identificationNumbers` map → identifications items."""
    if value is None:
        return []
    if not isinstance(value, dict):
        errors.add(path, f"Must be an object of type → number, not {describe(value)}.")
        return []
    return [{"type": key, "identificationNumber": number} for key, number in value.items()]


def clean_custom_value(
    errors: FieldErrors, path: str, definition: "CustomerFieldDefinition", value: Any
) -> Any:
    """The typed value to store (JSON-ready), or None after recording an error."""
    kind = definition.field_type
    if kind == FieldType.TEXT:
        return clean_text(
            errors, path, value, max_length=CUSTOM_TEXT_MAX, allow_int=True, multiline=True
        )
    if kind == FieldType.NUMBER:
        return _clean_number(errors, path, value)
    if kind == FieldType.DATE:
        parsed = clean_date(errors, path, value)
        return parsed.isoformat() if parsed else None
    if kind == FieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        errors.add(path, "Must be true or false.")
        return None
    if kind == FieldType.CHOICE:
        choices = [str(choice) for choice in definition.choices or []]
        if isinstance(value, str) and value in choices:
            return value
        errors.add(path, f"Must be one of: {', '.join(choices)}.")
        return None
    errors.add(path, f"Field type {kind} is not supported.")
    return None


def _clean_number(errors: FieldErrors, path: str, value: Any) -> int | float | None:
    message = 'Must be a number (a JSON number or a decimal string such as "12.5").'
    if isinstance(value, bool):
        errors.add(path, message)
        return None
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 64 or not DECIMAL_RE.match(text):
            errors.add(path, message)
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            errors.add(path, message)
            return None
    if isinstance(value, Decimal):
        if not value.is_finite():
            errors.add(path, "Must be a finite number.")
            return None
        value = (
            int(value)
            if value == value.to_integral_value() and abs(value) <= NUMBER_MAX
            else float(value)
        )
    if isinstance(value, int):
        if abs(value) > NUMBER_MAX:
            errors.add(path, f"Must be between -{NUMBER_MAX} and {NUMBER_MAX}.")
            return None
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            errors.add(path, "Must be a finite number.")
            return None
        return int(value) if value.is_integer() and abs(value) <= NUMBER_MAX else value
    errors.add(path, message)
    return None
