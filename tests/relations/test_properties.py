"""Property tests for the `connects` parser and the connection rules (no database)."""

from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from customers.models import AccountType
from relations.models import PERCENTAGE_ROLES, Role
from relations.validation import (
    ITEM_KEYS,
    ConnectItem,
    connection_errors,
    format_percentage,
    max_shareholding,
    parse_connects,
)

ROLES = [role.value for role in Role]
DAY0 = date(2025, 1, 1)

percentages = st.decimals(
    min_value=Decimal("0.0001"), max_value=Decimal("100"), places=4, allow_nan=False
)
days = st.integers(min_value=0, max_value=30).map(lambda n: DAY0 + timedelta(days=n))
references = st.one_of(
    st.text(alphabet="ABCDEFGHIJ-0123456789", min_size=1, max_size=12),
    st.integers(min_value=0, max_value=10**12),
)


@st.composite
def raw_items(draw):
    role = draw(st.sampled_from(ROLES))
    item = {"referenceId": draw(references), "role": role}
    if role in PERCENTAGE_ROLES and draw(st.booleans()):
        pct = draw(percentages)
        item["ownershipPercentage"] = draw(
            st.sampled_from([str(pct), format_percentage(pct), float(pct)])
        )
    start, end = draw(st.one_of(st.none(), days)), draw(st.one_of(st.none(), days))
    if start and end and start > end:
        start, end = end, start
    if start:
        item["validFrom"] = start.isoformat()
    if end:
        item["validTo"] = end.isoformat()
    return item


def render(item: ConnectItem) -> dict:
    raw: dict = {"referenceId": item.reference_id, "role": item.role}
    if item.ownership_percentage is not None:
        raw["ownershipPercentage"] = format_percentage(item.ownership_percentage)
    if item.valid_from:
        raw["validFrom"] = item.valid_from.isoformat()
    if item.valid_to:
        raw["validTo"] = item.valid_to.isoformat()
    return raw


@given(st.lists(raw_items(), max_size=30))
def test_valid_items_are_accepted_and_round_trip(raw):
    items = parse_connects(raw)
    assert len(items) == len(raw)
    for given_item, parsed in zip(raw, items, strict=True):
        assert parsed.reference_id == str(given_item["referenceId"])
        assert parsed.role == given_item["role"]
        if "ownershipPercentage" in given_item:
            assert parsed.ownership_percentage == Decimal(str(given_item["ownershipPercentage"]))
        else:
            assert parsed.ownership_percentage is None
    assert parse_connects([render(item) for item in items]) == items


def shareholders(pcts, dated=None):
    return [
        ConnectItem(
            reference_id=f"H{i}",
            role=Role.SHAREHOLDER,
            ownership_percentage=pct,
            valid_from=dated[i][0] if dated else None,
            valid_to=dated[i][1] if dated else None,
        )
        for i, pct in enumerate(pcts)
    ]


def errors_for(items):
    holders = {item.reference_id: (i, AccountType.PERSON) for i, item in enumerate(items)}
    return connection_errors(
        customer_ref="COMP-001",
        customer_account_type=AccountType.COMPANY,
        items=items,
        holders=holders,
    )


@given(st.lists(percentages, min_size=1, max_size=12))
def test_shareholdings_up_to_100_never_error_above_always_do(pcts):
    total = sum(pcts, Decimal(0))
    errors = errors_for(shareholders(pcts))
    if total <= 100:
        assert errors == []
    else:
        assert errors == [
            f"Shareholdings of COMP-001 add up to {format_percentage(total)}% (at most 100%)"
        ]


periods = st.tuples(st.one_of(st.none(), days), st.one_of(st.none(), days)).map(
    lambda p: (min(p), max(p)) if None not in p else p
)


@given(st.lists(st.tuples(percentages, periods), min_size=1, max_size=10))
def test_max_shareholding_matches_a_day_by_day_count(holdings):
    items = shareholders([pct for pct, _ in holdings], [period for _, period in holdings])

    def total_on(day):
        return sum(
            (
                item.ownership_percentage
                for item in items
                if (item.valid_from is None or (day is not None and item.valid_from <= day))
                and (item.valid_to is None or day is None or day <= item.valid_to)
            ),
            Decimal(0),
        )

    # "None" stands for every day before the first dated start (totals are constant there).
    candidates = [None, *(DAY0 + timedelta(days=n) for n in range(-1, 33))]
    expected = max(total_on(day) for day in candidates)
    total, on = max_shareholding(items)
    assert total == expected
    assert total_on(on) == total
    assert all(total_on(day) < total for day in candidates[1:] if on is not None and day < on)
    errors = errors_for(items)
    if total > 100:
        when = f" on {on.isoformat()}" if on else ""
        assert errors == [
            f"Shareholdings of COMP-001 add up to {format_percentage(total)}%{when} (at most 100%)"
        ]
    else:
        assert errors == []


@given(st.lists(periods, min_size=2, max_size=5))
def test_duplicates_are_exactly_overlapping_periods(spans):
    items = [
        ConnectItem(reference_id="P1", role=Role.DIRECTOR, valid_from=a, valid_to=b)
        for a, b in spans
    ]

    def covered(a, b):
        first, last = a or DAY0 - timedelta(days=1), b or DAY0 + timedelta(days=31)
        return {first + timedelta(days=n) for n in range((last - first).days + 1)}

    overlapping = any(
        covered(*spans[i]) & covered(*spans[j])
        for i in range(len(spans))
        for j in range(i + 1, len(spans))
    )
    expected = (
        ["Duplicate connection: P1 already holds DIRECTOR over an overlapping period"]
        if overlapping
        else []
    )
    assert errors_for(items) == expected


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
item_like = st.dictionaries(
    st.sampled_from([*ITEM_KEYS, "other"]),
    json_values
    | st.sampled_from([*ROLES, "director-and-shareholder", "REPRESENTATIVE"])
    | st.sampled_from(["2025-01-01", "2025-02-30", "30.5", "100", "0", "1e3"]),
    max_size=6,
)


@settings(max_examples=300)
@given(st.one_of(json_values, st.lists(st.one_of(item_like, json_values), max_size=6)))
def test_arbitrary_json_raises_only_validation_error(raw):
    try:
        items = parse_connects(raw)
    except ValidationError as exc:
        assert exc.messages
        return
    assert all(isinstance(item, ConnectItem) for item in items)
    # whatever was accepted survives the set-wise checks without crashing
    connection_errors(
        customer_ref="X",
        customer_account_type=AccountType.COMPANY,
        items=items,
        holders={item.reference_id: (1, AccountType.PERSON) for item in items},
    )
