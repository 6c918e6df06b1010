"""Risk rules as data: the shipped defaults, and the validation every rule set passes
before it is stored (API `PUT /risk-rules`, the admin form, `seed_demo`).

A rule set is a JSON object (camelCase keys, as the API shows it). Keys left out
switch their factor off (0 points, no entries); `bands` is required. Points are
integers 0–100; the score is the sum of the factors, capped at 100.
"""

import math
from typing import Any

import pycountry
from django.core.exceptions import ValidationError

MAX_POINTS = 100
MAX_ENTRIES = 500  # countries, custom field keys, values per key

# Points rules: one integer each.
POINT_KEYS = (
    "declinedSession",
    "declinedSessionMax",
    "reviewSession",
    "reviewSessionMax",
    "noApprovedSession",
    "connectedHighRisk",
    "missingOwnership",
    "screeningHit",
    "screeningHitOpen",
)
# Caps that default to "no cap" when left out.
UNCAPPED = {"declinedSessionMax": MAX_POINTS, "reviewSessionMax": MAX_POINTS}
RULE_KEYS = ("countries", "accountTypes", *POINT_KEYS, "customFields", "bands")

# A starting point, not advice: the countries are examples of jurisdictions that FATF
# lists have named (call for action: 50 points, increased monitoring: 25). Every
# organisation reviews them against its own risk assessment (README: "Risk rules").
DEFAULT_RULES: dict[str, Any] = {
    "countries": {
        "KP": 50,
        "IR": 50,
        "MM": 50,
        "SY": 25,
        "YE": 25,
        "HT": 25,
        "SS": 25,
        "VE": 25,
    },
    "accountTypes": {"1": 0, "2": 10},
    "declinedSession": 15,
    "declinedSessionMax": 45,
    "reviewSession": 10,
    "reviewSessionMax": 20,
    "noApprovedSession": 10,
    "connectedHighRisk": 25,
    "missingOwnership": 10,
    "screeningHit": 50,
    "screeningHitOpen": 10,
    "customFields": {},
    "bands": {"medium": 25, "high": 50},
}


def _points(value: Any) -> int | None:
    """An integer 0–100 (a whole float such as 10.0 too), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int) and 0 <= value <= MAX_POINTS:
        return value
    return None


POINTS_MESSAGE = f"Must be a whole number of points from 0 to {MAX_POINTS}."


def _point_map(raw: Any, name: str, errors: dict[str, list[str]], clean_key: Any) -> dict[str, int]:
    if not isinstance(raw, dict):
        errors[name] = ["Must be an object of key → points."]
        return {}
    if len(raw) > MAX_ENTRIES:
        errors[name] = [f"At most {MAX_ENTRIES} entries."]
        return {}
    cleaned: dict[str, int] = {}
    for key, value in raw.items():
        clean = clean_key(key)
        if clean is None:
            errors.setdefault(name, []).append(f"Unknown key '{str(key)[:40]}'.")
            continue
        points = _points(value)
        if points is None:
            errors.setdefault(name, []).append(f"{clean}: {POINTS_MESSAGE}")
            continue
        cleaned[clean] = points
    return cleaned


def _country(key: Any) -> str | None:
    code = str(key).strip().upper()
    if len(code) == 2 and code.isascii() and pycountry.countries.get(alpha_2=code) is not None:
        return code
    return None


def _account_type(key: Any) -> str | None:
    return str(key).strip() if str(key).strip() in ("1", "2") else None


def _value_key(key: Any) -> str | None:
    text = str(key).strip()
    if not text or len(text) > 200 or not text.isprintable():
        return None
    return text.casefold()


def clean_rules(data: Any) -> dict[str, Any]:
    """The validated, normalised rule set (every key present), or ValidationError with
    one entry per wrong key."""
    if not isinstance(data, dict):
        raise ValidationError("The risk rules must be a JSON object.")
    errors: dict[str, list[str]] = {}
    unknown = sorted(str(key)[:40] for key in data if key not in RULE_KEYS)
    if unknown:
        errors["rules"] = [
            f"Unknown rule key(s): {', '.join(unknown)}. Known: {', '.join(RULE_KEYS)}."
        ]
    cleaned: dict[str, Any] = {}
    cleaned["countries"] = _point_map(data.get("countries", {}), "countries", errors, _country)
    cleaned["accountTypes"] = _point_map(
        data.get("accountTypes", {}), "accountTypes", errors, _account_type
    )
    for key in POINT_KEYS:
        raw = data.get(key, UNCAPPED.get(key, 0))
        points = _points(raw)
        if points is None:
            errors[key] = [POINTS_MESSAGE]
        cleaned[key] = points
    cleaned["customFields"] = _custom_fields(data.get("customFields", {}), errors)
    cleaned["bands"] = _bands(data.get("bands"), errors)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _custom_fields(raw: Any, errors: dict[str, list[str]]) -> dict[str, dict[str, int]]:
    if not isinstance(raw, dict):
        errors["customFields"] = ["Must be an object: field key → {value → points}."]
        return {}
    if len(raw) > MAX_ENTRIES:
        errors["customFields"] = [f"At most {MAX_ENTRIES} entries."]
        return {}
    cleaned: dict[str, dict[str, int]] = {}
    for key, values in raw.items():
        field_key = str(key).strip()
        if not field_key or len(field_key) > 64 or not field_key.isprintable():
            errors.setdefault("customFields", []).append(f"Invalid field key '{field_key[:40]}'.")
            continue
        sub_errors: dict[str, list[str]] = {}
        cleaned[field_key] = _point_map(values, field_key, sub_errors, _value_key)
        for message in sub_errors.get(field_key, []):
            errors.setdefault("customFields", []).append(f"{field_key}: {message}")
    return cleaned


def _bands(raw: Any, errors: dict[str, list[str]]) -> dict[str, int]:
    message = (
        'Must be {"medium": M, "high": H}: the lowest score of each level, with 1 ≤ M < H ≤ 100.'
    )
    if not isinstance(raw, dict) or set(raw) != {"medium", "high"}:
        errors["bands"] = [message]
        return {}
    medium, high = _points(raw["medium"]), _points(raw["high"])
    if medium is None or high is None or not 1 <= medium < high:
        errors["bands"] = [message]
        return {}
    return {"medium": medium, "high": high}
