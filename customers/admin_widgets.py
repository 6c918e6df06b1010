"""Choices and widgets of the customer change form: countries and ISO 3166-2 regions
from pycountry, roles and connection rows in words."""

from decimal import Decimal
from functools import cache
from typing import Any

import pycountry
from django import forms

from customers.validation.values import ISO_REGION_COUNTRIES
from relations.models import Connection, Role
from relations.validation import format_percentage

EMPTY = ("", "—")

ROLE_WORDS = {
    Role.UBO: "UBO",
    Role.DIRECTOR: "Director",
    Role.SHAREHOLDER: "Shareholder",
    Role.AUTHORIZED_PERSON: "Authorised person",
    Role.BANK_ACCOUNT: "Bank account",
    Role.ACCOUNT_HOLDER: "Account holder",
}


@cache
def country_choices() -> tuple[tuple[str, str], ...]:
    """("", "—") then every ISO 3166-1 country as (alpha-2, "Name (XX)"), by name."""
    countries = sorted(pycountry.countries, key=lambda c: c.name)
    return (EMPTY, *((c.alpha_2, f"{c.name} ({c.alpha_2})") for c in countries))


@cache
def region_choices() -> tuple[Any, ...]:
    """ISO 3166-2 subdivisions of the countries whose region the API checks (US, CA,
    MX), grouped by country."""
    groups: list[Any] = [EMPTY]
    for code in sorted(ISO_REGION_COUNTRIES):
        country = pycountry.countries.get(alpha_2=code)
        assert country is not None  # US, CA and MX are in ISO 3166-1
        subdivisions = sorted(pycountry.subdivisions.get(country_code=code), key=lambda s: s.name)
        groups.append((country.name, tuple((s.code, f"{s.name} ({s.code})") for s in subdivisions)))
    return tuple(groups)


class CountryField(forms.ChoiceField):
    """A country dropdown; a posted code is read case-insensitively ("dk" → "DK").
    Whether it is a country is the API's rule (`clean_country`), applied by the form or
    the service so that the message reads like the API's."""

    def to_python(self, value: Any) -> str:
        return super().to_python(value).strip().upper()

    def validate(self, value: Any) -> None:
        forms.Field.validate(self, value)


def country_field(label: str, **kwargs: Any) -> CountryField:
    return CountryField(label=label, choices=country_choices, required=False, **kwargs)


def role_choices() -> list[tuple[str, str]]:
    return [("", "—"), *((role.value, ROLE_WORDS[role]) for role in Role)]


def connection_title(connection: Connection, *, party_field: str) -> str:
    """ "Jane Doe — Shareholder 60%": the other party (`party_field` of the row), the
    role in words and the percentage without trailing zeros."""
    party = getattr(connection, party_field, None)
    role = ROLE_WORDS.get(connection.role, connection.role)  # type: ignore[call-overload]
    percentage = connection.ownership_percentage
    share = f" {format_percentage(Decimal(percentage))}%" if percentage is not None else ""
    name = party.name if party is not None else "—"
    if party_field == "customer":  # a role this customer holds in `party`
        return f"{role}{share} of {name}"
    return f"{name} — {role}{share}"


class DateInput(forms.DateInput):
    """The browser's date picker; values as YYYY-MM-DD (what the API takes)."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")
