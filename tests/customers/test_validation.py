"""customers.validation.clean_customer: a pure function, no database."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from customers.models import AccountType, Customer, CustomerFieldDefinition
from customers.validation import clean_customer

BASE = {"name": "A", "referenceId": "R1", "accountTypeId": 1}


def errors_of(data, **kwargs):
    with pytest.raises(ValidationError) as caught:
        clean_customer(data=data, definitions=kwargs.pop("definitions", {}), **kwargs)
    return caught.value.message_dict


def clean(data, **kwargs):
    return clean_customer(data=data, definitions=kwargs.pop("definitions", {}), **kwargs)


def address(**parts):
    return {**BASE, "profile": {"residentialAddress": parts}}


@pytest.mark.parametrize(
    ("country", "region", "stored"),
    [
        ("US", "CA", "US-CA"),
        ("US", "us-ny", "US-NY"),
        ("CA", "ON", "CA-ON"),
        ("MX", "JAL", "MX-JAL"),
        ("GB", "England", "England"),
        ("gb", "England", "England"),
    ],
)
def test_regions(country, region, stored):
    cleaned = clean(address(country=country, region=region))
    assert cleaned.fields["address"] == {"country": country.upper(), "region": stored}


@pytest.mark.parametrize(
    ("country", "region", "example"),
    [
        ("US", "California", "US-CA or CA"),
        ("US", "CA-ON", "US-CA or CA"),
        ("CA", "XX", "CA-ON or ON"),
        ("MX", "Jalisco", "MX-JAL or JAL"),
    ],
)
def test_bad_regions(country, region, example):
    assert errors_of(address(country=country, region=region)) == {
        "profile.residentialAddress.region": [
            f"For {country} addresses, region must be an ISO 3166-2 subdivision code such as "
            f"{example} (got '{region}')."
        ]
    }


def test_bad_country():
    assert errors_of(address(country="UK")) == {
        "profile.residentialAddress.country": [
            "'UK' is not an ISO 3166-1 alpha-2 country code (for example GB, DE, US)."
        ]
    }


def test_unknown_address_key():
    assert errors_of(address(firstLine="1 Road")) == {
        "profile.residentialAddress": [
            "Unknown key(s): firstLine. Allowed keys: country, region, city, street, "
            "houseNumber, postalCode, refinement."
        ]
    }


def test_the_address_key_must_fit_the_account_type():
    """Seed 004: individuals send residentialAddress, corporates registrationAddress;
    the other key is refused (it used to be stored as the customer's address)."""
    company = {**BASE, "accountTypeId": 2}
    assert clean({**company, "profile": {"registrationAddress": {"city": "Leeds"}}}).fields[
        "address"
    ] == {"city": "Leeds"}
    assert errors_of({**company, "profile": {"residentialAddress": {"city": "Leeds"}}}) == {
        "profile.residentialAddress": [
            "residentialAddress is for individuals: corporates use registrationAddress."
        ]
    }
    assert errors_of({**BASE, "profile": {"registrationAddress": {"city": "Leeds"}}}) == {
        "profile.registrationAddress": [
            "registrationAddress is for corporates: individuals use residentialAddress."
        ]
    }


def test_both_address_keys_refused():
    data = {**BASE, "profile": {"residentialAddress": {}, "registrationAddress": {}}}
    assert errors_of(data) == {
        "profile": [
            "Send either residentialAddress (persons) or registrationAddress (companies), not both."
        ]
    }


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        (
            "08012345678",
            "Must be an international phone number: '+', the country code and the "
            "number, for example +441234567890.",
        ),
        ("+44 123", "'+44 123' is not a possible phone number for its country code."),
    ],
)
def test_bad_phones(phone, message):
    assert errors_of({**BASE, "profile": {"phone": phone}}) == {"profile.phone": [message]}


def test_phone_stored_as_e164():
    cleaned = clean({**BASE, "profile": {"phone": "+44 (0) 1234 567890"}})
    assert cleaned.fields["phone"] == "+441234567890"


def test_bad_email():
    assert errors_of({**BASE, "profile": {"email": "not-an-email"}}) == {
        "profile.email": ["'not-an-email' is not a valid email address."]
    }


def test_identity_type_must_match_account_type():
    data = {**BASE, "identity": {"type": "corporate", "legalName": "X"}}
    errors = errors_of(data)
    assert errors["identity.type"] == [
        "'corporate' does not match accountTypeId 1: use 'individual'."
    ]


def test_profile_identity_type_must_match():
    assert errors_of({**BASE, "profile": {"identityType": "robot"}}) == {
        "profile.identityType": ["Must be 'individual' or 'corporate'."]
    }


def test_person_identity_rejects_company_keys():
    data = {**BASE, "identity": {"givenName": "A", "familyName": "B", "legalName": "X"}}
    assert errors_of(data) == {
        "identity": [
            "Unknown key(s): legalName. Allowed keys: type, country, identifications, "
            "identificationNumbers, givenName, familyName, birthDate."
        ]
    }


def test_person_identity_needs_both_names():
    assert errors_of({**BASE, "identity": {"givenName": "A"}}) == {
        "identity.familyName": ["This field is required in an identity."]
    }


def test_company_identity_needs_legal_name():
    data = {**BASE, "accountTypeId": 2, "identity": {"country": "GB"}}
    assert errors_of(data) == {"identity.legalName": ["This field is required in an identity."]}


def test_future_birth_date():
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    data = {**BASE, "identity": {"givenName": "A", "familyName": "B", "birthDate": tomorrow}}
    assert errors_of(data) == {"identity.birthDate": ["Must not be in the future."]}


def test_identifications():
    data = {
        **BASE,
        "identity": {
            "givenName": "A",
            "familyName": "B",
            "identifications": [
                {
                    "type": "passport",
                    "identificationNumber": 123,
                    "issuingCountry": "gb",
                    "issueDate": "2022-01-01",
                    "expirationDate": "2032-01-01",
                },
                {
                    "type": "passport",
                    "identificationNumber": "9",
                    "issueDate": "2022-01-01",
                    "expirationDate": "2021-01-01",
                },
                {"identificationNumber": "9", "issuingCountry": "ZZ", "issueDate": "01/01/2022"},
                "passport",
                {"type": "x", "identificationNumber": "1", "colour": "red"},
            ],
        },
    }
    assert errors_of(data) == {
        "identity.identifications[1].expirationDate": ["Must not be before issueDate."],
        "identity.identifications[2].type": ["This field is required."],
        "identity.identifications[2].issuingCountry": [
            "'ZZ' is not an ISO 3166-1 alpha-2 country code (for example GB, DE, US)."
        ],
        "identity.identifications[2].issueDate": ["Must be a date in YYYY-MM-DD format."],
        "identity.identifications[3]": ["Must be an object, not a string."],
        "identity.identifications[4]": [
            "Unknown key(s): colour. Allowed keys: type, identificationNumber, issuingCountry, "
            "issueDate, expirationDate."
        ],
    }
    data["identity"]["identifications"] = data["identity"]["identifications"][:1]
    assert clean(data).fields["identifications"] == [
        {
            "type": "passport",
            "identificationNumber": "123",
            "issuingCountry": "GB",
            "issueDate": "2022-01-01",
            "expirationDate": "2032-01-01",
        }
    ]


def test_deprecated_identification_numbers_become_identifications():
    data = {
        **BASE,
        "identity": {
            "givenName": "A",
            "familyName": "B",
            "identificationNumbers": {"passport": "123"},
        },
    }
    assert clean(data).fields["identifications"] == [
        {"type": "passport", "identificationNumber": "123"}
    ]


def test_name_derived_from_identity_only_when_missing():
    identity = {"givenName": "Canay", "familyName": "Özel"}
    assert (
        clean({"referenceId": "1", "accountTypeId": 1, "identity": identity}).fields["name"]
        == "Canay Özel"
    )
    company = {"referenceId": "1", "accountTypeId": 2, "identity": {"legalName": "ACME INC."}}
    assert clean(company).fields["name"] == "ACME INC."
    assert clean({**BASE, "identity": identity}).fields["name"] == "A"


def test_partial_needs_nothing():
    existing = Customer(reference_id="R1", name="A", account_type=AccountType.PERSON)
    cleaned = clean({}, existing=existing, partial=True)
    assert cleaned.fields == {"account_type": 1}
    assert cleaned.custom_fields == {}


def test_existing_address_merges():
    existing = Customer(
        reference_id="R1",
        name="A",
        account_type=AccountType.PERSON,
        address={"country": "US", "region": "US-CA", "city": "LA"},
    )
    cleaned = clean(
        {"profile": {"residentialAddress": {"city": "SF"}}}, existing=existing, partial=True
    )
    assert cleaned.fields["address"] == {"country": "US", "region": "US-CA", "city": "SF"}
    # Changing the country re-checks the stored region.
    errors = errors_of(
        {"profile": {"residentialAddress": {"country": "MX"}}}, existing=existing, partial=True
    )
    assert list(errors) == ["profile.residentialAddress.region"]


def test_reject_unknown_and_connects_passthrough():
    definitions = {"bvn": CustomerFieldDefinition(key="bvn", name="BVN")}
    cleaned = clean({**BASE, "bvn": "1", "x": 1, "connects": [{"a": 1}]}, definitions=definitions)
    assert cleaned.custom_fields == {"bvn": "1"}
    assert cleaned.ignored_fields == ["x"]
    assert cleaned.connects == [{"a": 1}]
    assert clean(BASE).connects is None
    assert list(errors_of({**BASE, "x": 1}, reject_unknown=True)) == ["x"]


def test_account_type_string_digits_accepted():
    assert clean({**BASE, "accountTypeId": "2"}).fields["account_type"] == 2


def test_reference_refuses_slash():
    assert errors_of({**BASE, "referenceId": "R/1"}) == {"referenceId": ["Must not contain '/'."]}


@pytest.mark.parametrize(
    ("char", "code"),
    [
        ("\x00", "U+0000"),
        ("\t", "U+0009"),
        ("\n", "U+000A"),
        ("\x1f", "U+001F"),
        ("\x7f", "U+007F"),
        ("\x80", "U+0080"),
        ("\x9f", "U+009F"),
    ],
)
def test_reference_refuses_control_characters(char, code):
    assert errors_of({**BASE, "referenceId": f"R{char}1"}) == {
        "referenceId": [f"Must not contain the invisible or control character {code}."]
    }


@pytest.mark.parametrize("char", [" ", "~", "é", "-", "_", "ß", "中"])
def test_reference_keeps_other_characters(char):
    assert clean({**BASE, "referenceId": f"R{char}1"}).fields["reference_id"] == f"R{char}1"


@pytest.mark.parametrize(("raw", "stored"), [(1, 1), (2, 2), (" 2 ", 2)])
def test_account_type_accepts_person_and_company(raw, stored):
    assert clean({**BASE, "accountTypeId": raw}).fields["account_type"] == stored


@pytest.mark.parametrize("raw", [0, 3, True, 1.0, "3"])
def test_account_type_refuses_other_values(raw):
    assert errors_of({**BASE, "accountTypeId": raw}) == {
        "accountTypeId": ["Must be 1 (Person) or 2 (Company)."]
    }
