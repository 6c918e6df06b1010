"""parse_connects and connection_errors: pure functions, no database."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from customers.models import AccountType
from relations.validation import (
    ConnectItem,
    connection_errors,
    format_percentage,
    max_shareholding,
    parse_connects,
)

PERSON, COMPANY = AccountType.PERSON, AccountType.COMPANY
ROLES_TEXT = "UBO, DIRECTOR, SHAREHOLDER, AUTHORIZED_PERSON, BANK_ACCOUNT, ACCOUNT_HOLDER"


def errors_of(raw):
    with pytest.raises(ValidationError) as info:
        parse_connects(raw)
    exc = info.value
    return exc.message_dict if hasattr(exc, "error_dict") else exc.messages


# --- parse_connects ----------------------------------------------------------------


def test_parses_seed_000_items():
    items = parse_connects(
        [
            {"referenceId": "COMP-001", "role": "DIRECTOR"},
            {"referenceId": "TRUST-002", "role": "UBO"},
        ]
    )
    assert items == [
        ConnectItem(reference_id="COMP-001", role="DIRECTOR"),
        ConnectItem(reference_id="TRUST-002", role="UBO"),
    ]
    assert [item.index for item in items] == [0, 1]


def test_parses_every_optional_attribute():
    (item,) = parse_connects(
        [
            {
                "referenceId": 42,
                "role": "SHAREHOLDER",
                "ownershipPercentage": "30.5",
                "validFrom": "2025-01-01",
                "validTo": "2025-12-31",
            }
        ]
    )
    assert item == ConnectItem(
        reference_id="42",
        role="SHAREHOLDER",
        ownership_percentage=Decimal("30.5"),
        valid_from=date(2025, 1, 1),
        valid_to=date(2025, 12, 31),
    )


def test_not_a_list():
    assert errors_of({"referenceId": "X"}) == ["connects must be a list"]
    assert errors_of(None) == ["connects must be a list"]
    assert errors_of("[]") == ["connects must be a list"]


def test_at_most_1000_items(settings):
    assert parse_connects([{"referenceId": "A", "role": "UBO"}] * 0) == []
    assert errors_of([{}] * 1001) == ["connects may hold at most 1000 items (got 1001)"]
    settings.KYC_MAX_CONNECTS = 2
    assert errors_of([{}] * 3) == ["connects may hold at most 2 items (got 3)"]


def test_unknown_role_lists_the_valid_ones():
    assert errors_of(
        [
            {"referenceId": "A", "role": "UBO"},
            {"referenceId": "B", "role": "UBO"},
            {"referenceId": "C", "role": "OWNER"},
        ]
    ) == {"connects[2].role": [f'Unknown role "OWNER". Use one of {ROLES_TEXT}']}


def test_roles_are_case_sensitive_except_seed_004_names():
    assert errors_of([{"referenceId": "A", "role": "ubo"}]) == {
        "connects[0].role": [f'Unknown role "ubo". Use one of {ROLES_TEXT}']
    }
    assert errors_of([{"referenceId": "A", "role": 7}]) == {
        "connects[0].role": [f"Unknown role 7. Use one of {ROLES_TEXT}"]
    }


@pytest.mark.parametrize(
    ("raw", "roles"),
    [
        ("REPRESENTATIVE", ["AUTHORIZED_PERSON"]),
        ("director", ["DIRECTOR"]),
        ("shareholder", ["SHAREHOLDER"]),
        ("authorized-person", ["AUTHORIZED_PERSON"]),
        ("director-and-shareholder", ["DIRECTOR", "SHAREHOLDER"]),
    ],
)
def test_role_aliases(raw, roles):
    items = parse_connects([{"referenceId": "A", "role": raw}])
    assert [item.role for item in items] == roles
    assert {item.reference_id for item in items} == {"A"}


def test_director_and_shareholder_gives_the_percentage_to_the_shareholding():
    director, shareholder = parse_connects(
        [{"referenceId": "A", "role": "director-and-shareholder", "ownershipPercentage": 25}]
    )
    assert director.ownership_percentage is None
    assert shareholder.ownership_percentage == Decimal("25")


def test_required_fields():
    assert errors_of([{}]) == {
        "connects[0].referenceId": [
            "This field is required (or a customer object with a referenceId)."
        ],
        "connects[0].role": ["This field is required."],
    }
    assert errors_of(["COMP-001"]) == {
        "connects[0]": ["Must be an object with referenceId and role."]
    }


def test_reference_id_rules():
    assert errors_of([{"referenceId": True, "role": "UBO"}]) == {
        "connects[0].referenceId": ["Must be a string or an integer, not a boolean."]
    }
    assert errors_of([{"referenceId": "  ", "role": "UBO"}]) == {
        "connects[0].referenceId": ["Must not be blank."]
    }
    assert errors_of([{"referenceId": "x" * 129, "role": "UBO"}]) == {
        "connects[0].referenceId": ["At most 128 characters allowed (got 129)."]
    }
    assert errors_of([{"referenceId": "a/b", "role": "UBO"}]) == {
        "connects[0].referenceId": ["Must not contain '/'."]
    }
    assert parse_connects([{"referenceId": "x" * 128, "role": "UBO"}])[0].reference_id == "x" * 128
    # Trimmed and normalised as a customer's own referenceId is.
    assert parse_connects([{"referenceId": " ＣＡＦÉ-1 ", "role": "UBO"}])[0].reference_id == (
        "CAFÉ-1"
    )


def test_unknown_keys_are_named():
    assert errors_of([{"referenceId": "A", "role": "UBO", "zeta": 1, "alpha": 2}]) == {
        "connects[0]": [
            "Unknown field(s): alpha, zeta. Allowed: referenceId, customer, role, "
            "ownershipPercentage, validFrom, validTo."
        ]
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("51", Decimal("51")),
        ("30.5", Decimal("30.5")),
        (" 30.5 ", Decimal("30.5")),
        (30.5, Decimal("30.5")),
        (100, Decimal("100")),
        ("0.0001", Decimal("0.0001")),
        ("12.34560", Decimal("12.3456")),
        (None, None),
    ],
)
def test_percentages(value, expected):
    (item,) = parse_connects([{"referenceId": "A", "role": "UBO", "ownershipPercentage": value}])
    assert item.ownership_percentage == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "Must be greater than 0 and at most 100."),
        (0, "Must be greater than 0 and at most 100."),
        (-5, "Must be greater than 0 and at most 100."),
        ("100.0001", "Must be greater than 0 and at most 100."),
        (101, "Must be greater than 0 and at most 100."),
        ("0.00001", "Must have at most 4 decimal places."),
        (1.23456, "Must have at most 4 decimal places."),
        (True, "Must be a number or a decimal string, not a boolean."),
        ("NaN", '"NaN" is not a decimal number such as "51" or "30.5".'),
        ("Infinity", '"Infinity" is not a decimal number such as "51" or "30.5".'),
        ("1e2", '"1e2" is not a decimal number such as "51" or "30.5".'),
        ("5_0", '"5_0" is not a decimal number such as "51" or "30.5".'),
        ("", '"" is not a decimal number such as "51" or "30.5".'),
        # Only ASCII digits: Arabic-Indic, fullwidth and Devanagari digits are refused.
        ("\u0661\u0660", '"\u0661\u0660" is not a decimal number such as "51" or "30.5".'),
        ("\uff11\uff10", '"\uff11\uff10" is not a decimal number such as "51" or "30.5".'),
        ("\u0967\u0966.5", '"\u0967\u0966.5" is not a decimal number such as "51" or "30.5".'),
        (float("nan"), "Must be a finite number."),
        (float("inf"), "Must be a finite number."),
        ([50], "Must be a number or a decimal string."),
    ],
)
def test_bad_percentages(value, message):
    assert errors_of(
        [{"referenceId": "A", "role": "SHAREHOLDER", "ownershipPercentage": value}]
    ) == {"connects[0].ownershipPercentage": [message]}


@pytest.mark.parametrize("value", ["\u0662\u0660\u0662\u0664-01-01", "２０２４-01-01"])
def test_dates_take_ascii_digits_only(value):
    assert errors_of([{"referenceId": "A", "role": "UBO", "validFrom": value}]) == {
        "connects[0].validFrom": ["Must be a date in the format YYYY-MM-DD."]
    }


def test_percentage_only_for_shareholders_and_ubos():
    assert errors_of([{"referenceId": "A", "role": "DIRECTOR", "ownershipPercentage": "10"}]) == {
        "connects[0].ownershipPercentage": [
            "Only SHAREHOLDER and UBO connections carry an ownership percentage (not DIRECTOR)."
        ]
    }


def test_dates():
    assert errors_of([{"referenceId": "A", "role": "UBO", "validFrom": "01/02/2025"}]) == {
        "connects[0].validFrom": ["Must be a date in the format YYYY-MM-DD."]
    }
    assert errors_of([{"referenceId": "A", "role": "UBO", "validTo": "2025-02-30"}]) == {
        "connects[0].validTo": ['"2025-02-30" is not a valid date.']
    }
    assert errors_of([{"referenceId": "A", "role": "UBO", "validTo": 20250101}]) == {
        "connects[0].validTo": ["Must be a date in the format YYYY-MM-DD."]
    }
    assert errors_of(
        [{"referenceId": "A", "role": "UBO", "validFrom": "2025-02-01", "validTo": "2025-01-31"}]
    ) == {"connects[0].validTo": ["Must not be before validFrom (2025-02-01)."]}
    (item,) = parse_connects(
        [{"referenceId": "A", "role": "UBO", "validFrom": "2025-02-01", "validTo": "2025-02-01"}]
    )
    assert item.valid_from == item.valid_to == date(2025, 2, 1)


def test_inline_customer():
    payload = {"referenceId": "NEW-1", "name": "John Doe", "accountTypeId": 1}
    (item,) = parse_connects([{"customer": payload, "role": "director"}])
    assert item.reference_id == "NEW-1"
    assert item.role == "DIRECTOR"
    assert item.customer == payload


def test_inline_customer_takes_the_item_reference_id():
    (item,) = parse_connects([{"referenceId": 7, "customer": {"name": "X"}, "role": "UBO"}])
    assert item.customer == {"name": "X", "referenceId": "7"}


def test_inline_customer_errors():
    assert errors_of([{"referenceId": "A", "customer": {"referenceId": "B"}, "role": "UBO"}]) == {
        "connects[0].customer.referenceId": ['"B" does not match the item\'s referenceId "A".']
    }
    assert errors_of([{"customer": "A", "role": "UBO"}]) == {
        "connects[0].customer": ["Must be an object (referenceId, name, accountTypeId, …)."]
    }
    assert errors_of([{"customer": {"referenceId": "A", "connects": []}, "role": "UBO"}]) == {
        "connects[0].customer": ["An inline customer cannot carry connects of its own."]
    }
    assert errors_of([{"customer": {"name": "No ref"}, "role": "UBO"}]) == {
        "connects[0].referenceId": [
            "This field is required (or a customer object with a referenceId)."
        ]
    }
    assert errors_of(
        [
            {"customer": {"referenceId": "A", "name": "One"}, "role": "UBO"},
            {"customer": {"referenceId": "A", "name": "Two"}, "role": "DIRECTOR"},
        ]
    ) == {"connects[1].customer": ["Differs from the inline customer A given earlier in the list."]}


def test_every_item_error_is_reported():
    assert set(
        errors_of(
            [
                {"referenceId": "A", "role": "OWNER"},
                {"referenceId": "B", "role": "UBO"},
                {"role": "UBO"},
            ]
        )
    ) == {"connects[0].role", "connects[2].referenceId"}


# --- connection_errors -------------------------------------------------------------


def item(ref, role="SHAREHOLDER", pct=None, start=None, end=None):
    return ConnectItem(
        reference_id=ref,
        role=role,
        ownership_percentage=None if pct is None else Decimal(str(pct)),
        valid_from=None if start is None else date.fromisoformat(start),
        valid_to=None if end is None else date.fromisoformat(end),
    )


HOLDERS = {"P1": (1, PERSON), "P2": (2, PERSON), "C1": (3, COMPANY), "C2": (4, COMPANY)}


def check(items, holders=HOLDERS, ref="COMP-001"):
    return connection_errors(
        customer_ref=ref, customer_account_type=COMPANY, items=items, holders=holders
    )


def test_valid_lists_have_no_errors():
    assert check([]) == []
    assert (
        check(
            [
                item("P1", "UBO", 30),
                item("P1", "DIRECTOR"),
                item("C1", "SHAREHOLDER", 70),
                item("C2", "BANK_ACCOUNT"),
                item("P2", "AUTHORIZED_PERSON"),
                item("P2", "SHAREHOLDER", 30),
            ]
        )
        == []
    )


def test_unknown_references_in_order_of_first_appearance():
    assert check([item("X2"), item("P1"), item("X1"), item("X2", "UBO")]) == [
        "Connected customer(s) not found: X2, X1"
    ]


def test_person_only_roles():
    assert check(
        [item("C1", "UBO"), item("C1", "UBO", start="2030-01-01"), item("C2", "DIRECTOR")]
    ) == [
        "Role UBO is only valid for Person customers (C1)",
        "Role DIRECTOR is only valid for Person customers (C2)",
        "Duplicate connection: C1 already holds UBO over an overlapping period",
    ]
    assert check([item("C1", "AUTHORIZED_PERSON")]) == [
        "Role AUTHORIZED_PERSON is only valid for Person customers (C1)"
    ]
    assert check([item("C1", "BANK_ACCOUNT"), item("C1", "ACCOUNT_HOLDER"), item("C1")]) == []


def test_self_connection():
    holders = {**HOLDERS, "COMP-001": (9, COMPANY)}
    assert check([item("COMP-001")], holders=holders) == [
        "A customer cannot be connected to itself (COMP-001)"
    ]


def test_percentage_on_a_role_without_one():
    assert check([item("P1", "DIRECTOR", 10)]) == [
        "Role DIRECTOR does not carry an ownership percentage (P1)"
    ]


@pytest.mark.parametrize(
    ("first", "second", "duplicate"),
    [
        ((None, None), (None, None), True),
        ((None, "2025-01-01"), ("2025-01-01", None), True),
        ((None, "2024-12-31"), ("2025-01-01", None), False),
        (("2025-01-01", "2025-06-30"), ("2025-03-01", "2025-03-31"), True),
        (("2025-01-01", "2025-06-30"), ("2025-07-01", "2025-12-31"), False),
        (("2025-07-01", None), ("2025-01-01", "2025-06-30"), False),
    ],
)
def test_duplicates_over_overlapping_periods(first, second, duplicate):
    errors = check([item("P1", "UBO", None, *first), item("P1", "UBO", None, *second)])
    expected = ["Duplicate connection: P1 already holds UBO over an overlapping period"]
    assert errors == (expected if duplicate else [])


def test_same_holder_in_different_roles_is_no_duplicate():
    assert check([item("P1", "UBO"), item("P1", "SHAREHOLDER"), item("P1", "DIRECTOR")]) == []


def test_shareholdings_above_100_without_dates():
    assert check([item("P1", pct=60), item("C1", pct=40)]) == []
    assert check([item("P1", pct=60), item("C1", pct="40.0001")]) == [
        "Shareholdings of COMP-001 add up to 100.0001% (at most 100%)"
    ]


def test_shareholdings_above_100_name_the_first_date():
    assert check(
        [
            item("P1", pct=60, end="2025-03-31"),
            item("C1", pct=60, start="2025-01-01"),
        ]
    ) == ["Shareholdings of COMP-001 add up to 120% on 2025-01-01 (at most 100%)"]


def test_shareholdings_report_the_highest_total():
    assert check(
        [
            item("P1", pct=50),
            item("C1", pct=55, start="2025-01-01", end="2025-01-31"),
            item("C2", pct=70, start="2025-06-01"),
            item("P2", pct=1, start="2025-06-15", end="2025-06-15"),
        ]
    ) == ["Shareholdings of COMP-001 add up to 121% on 2025-06-15 (at most 100%)"]


def test_shareholdings_in_separate_periods_may_each_reach_100():
    assert (
        check(
            [
                item("P1", pct=100, end="2024-12-31"),
                item("C1", pct=100, start="2025-01-01", end="2025-12-31"),
                item("C2", pct=100, start="2026-01-01"),
            ]
        )
        == []
    )


def test_ubo_percentages_do_not_count_as_shareholdings():
    assert check([item("P1", "UBO", 80), item("P1", "SHAREHOLDER", 80)]) == []


def test_max_shareholding_from_the_start():
    assert max_shareholding([item("P1", pct=10, end="2025-01-01"), item("C1", pct=5)]) == (
        Decimal("15"),
        None,
    )
    assert max_shareholding([item("P1", pct=10, end="9999-12-31")]) == (Decimal("10"), None)
    assert max_shareholding([]) == (Decimal(0), None)


def test_format_percentage():
    assert format_percentage(Decimal("30.5000")) == "30.5"
    assert format_percentage(Decimal("100.0000")) == "100"
    assert format_percentage(Decimal("0.0001")) == "0.0001"
