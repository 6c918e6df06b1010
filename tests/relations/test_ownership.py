"""Known answers of the ownership walk, computed by hand in each test's docstring."""

import itertools
from datetime import date
from decimal import Decimal

import pytest

from relations.models import Role
from relations.ownership import (
    DECLARED_NOT_DERIVED,
    DERIVED_NOT_DECLARED,
    format_percentage,
    ownership_structure,
)
from tests.factories import OrganisationFactory
from tests.relations.ownership_helpers import company, owns, person, role

pytestmark = pytest.mark.django_db

TODAY = date(2026, 1, 15)
T25 = Decimal(25)


def figures(structure):
    return {u.party.reference_id: u.effective for u in structure.derived_ubos}


@pytest.fixture
def chain(org):
    """Jane →50%→ HoldCo →60%→ Target (30%); Bob →80%→ Mid →50%→ Hold2 →40%→ Target (16%)."""
    target = company(org, "T", "Target Ltd")
    hold = company(org, "H", "HoldCo Ltd")
    jane = person(org, "JANE", "Jane Doe")
    owns(hold, target, 60)
    owns(jane, hold, 50)
    hold2 = company(org, "H2", "Hold Two Ltd")
    mid = company(org, "MID", "Mid Ltd")
    bob = person(org, "BOB", "Bob Roe")
    owns(hold2, target, 40)
    owns(mid, hold2, 50)
    owns(bob, mid, 80)
    return target


def test_multi_level_chains_multiply(chain):
    structure = ownership_structure(customer=chain, as_of=TODAY, threshold=Decimal(10))
    assert figures(structure) == {"JANE": Decimal(30), "BOB": Decimal(16)}
    jane, bob = structure.derived_ubos
    assert [p.text for p in jane.paths] == ["Jane Doe →50%→ HoldCo Ltd →60%→ Target Ltd = 30%"]
    assert [[c.reference_id for c in p.chain] for p in bob.paths] == [["BOB", "MID", "H2", "T"]]
    assert bob.paths[0].text == "Bob Roe →80%→ Mid Ltd →50%→ Hold Two Ltd →40%→ Target Ltd = 16%"
    assert [h.party.reference_id for h in structure.shareholders] == ["H", "H2"]
    assert structure.cycles == []
    assert structure.truncated is False


def test_threshold_selects_derived_ubos(chain):
    assert figures(ownership_structure(customer=chain, as_of=TODAY, threshold=T25)) == {
        "JANE": Decimal(30)
    }
    assert figures(ownership_structure(customer=chain, as_of=TODAY, threshold=Decimal(30))) == {
        "JANE": Decimal(30)
    }
    assert (
        figures(ownership_structure(customer=chain, as_of=TODAY, threshold=Decimal("30.0001")))
        == {}
    )


def test_person_reaches_threshold_only_by_adding_two_chains(org):
    """Ann →20%→ A →50%→ T = 10% and Ann →30%→ B →50%→ T = 15%: 25% in total, exactly
    the threshold, though neither chain reaches it alone."""
    target, a, b = company(org, "T"), company(org, "A"), company(org, "B")
    ann = person(org, "ANN", "Ann Lee")
    owns(a, target, 50)
    owns(b, target, 50)
    owns(ann, a, 20)
    owns(ann, b, 30)
    structure = ownership_structure(customer=target, as_of=TODAY, threshold=T25)
    (ubo,) = structure.derived_ubos
    assert ubo.effective == Decimal(25)
    assert [(p.effective, [c.reference_id for c in p.chain]) for p in ubo.paths] == [
        (Decimal(15), ["ANN", "B", "T"]),
        (Decimal(10), ["ANN", "A", "T"]),
    ]


def test_cross_holdings(org):
    """T: A 60%, B 40%. A: P1 50%, B 50%. B: A 30%, P2 70%.
    P1: T←A←P1 = 30%, T←B←A←P1 = .4×.3×.5 = 6% → 36%.
    P2: T←B←P2 = 28%, T←A←B←P2 = .6×.5×.7 = 21% → 49%. The A⇄B loop is reported."""
    target, a, b = company(org, "T"), company(org, "A"), company(org, "B")
    p1, p2 = person(org, "P1"), person(org, "P2")
    owns(a, target, 60)
    owns(b, target, 40)
    owns(p1, a, 50)
    owns(b, a, 50)
    owns(a, b, 30)
    owns(p2, b, 70)
    structure = ownership_structure(customer=target, as_of=TODAY, threshold=T25)
    assert figures(structure) == {"P2": Decimal(49), "P1": Decimal(36)}
    assert [[p.reference_id for p in cycle] for cycle in structure.cycles] == [["A", "B"]]


def test_three_company_cycle_terminates_and_is_reported(org):
    """T: X 50%, Pz 50%. X: Y 60%, P1 40%. Y: Z 70%, P2 30%. Z: X 50%, P3 50%.
    P1 = .5×.4 = 20%; P2 = .5×.6×.3 = 9%; P3 = .5×.6×.7×.5 = 10.5%; Pz = 50%.
    X → Z → Y → X: X owns 50% of Z, Z 70% of Y, Y 60% of X."""
    target, x, y, z = company(org, "T"), company(org, "X"), company(org, "Y"), company(org, "Z")
    pz, p1, p2, p3 = (person(org, ref) for ref in ("PZ", "P1", "P2", "P3"))
    owns(x, target, 50)
    owns(pz, target, 50)
    owns(y, x, 60)
    owns(p1, x, 40)
    owns(z, y, 70)
    owns(p2, y, 30)
    owns(x, z, 50)
    owns(p3, z, 50)
    structure = ownership_structure(customer=target, as_of=TODAY, threshold=Decimal(10))
    assert figures(structure) == {"PZ": Decimal(50), "P1": Decimal(20), "P3": Decimal("10.5")}
    assert [[p.reference_id for p in cycle] for cycle in structure.cycles] == [["X", "Z", "Y"]]
    assert structure.truncated is False


def test_cycle_through_the_target_itself(org):
    """T owns 10% of H, H owns 60% of T: reported as [T, H]; Jane keeps her 30%."""
    target, hold = company(org, "T"), company(org, "H")
    jane = person(org, "JANE")
    owns(hold, target, 60)
    owns(jane, hold, 50)
    owns(target, hold, 10)
    structure = ownership_structure(customer=target, as_of=TODAY, threshold=T25)
    assert figures(structure) == {"JANE": Decimal(30)}
    assert [[p.reference_id for p in cycle] for cycle in structure.cycles] == [["T", "H"]]


def test_as_of_includes_and_excludes_past_shareholders(org):
    """OLD held 40% until 2024-12-31 (inclusive); NEW holds 40% from 2025-01-01."""
    target = company(org, "T")
    old, new = person(org, "OLD"), person(org, "NEW")
    owns(old, target, 40, valid_to=date(2024, 12, 31))
    owns(new, target, 40, valid_from=date(2025, 1, 1))

    def on(day):
        structure = ownership_structure(customer=target, as_of=day, threshold=T25)
        return sorted(figures(structure)), [h.party.reference_id for h in structure.shareholders]

    assert on(date(2024, 6, 1)) == (["OLD"], ["OLD"])
    assert on(date(2024, 12, 31)) == (["OLD"], ["OLD"])
    assert on(date(2025, 1, 1)) == (["NEW"], ["NEW"])
    assert on(TODAY) == (["NEW"], ["NEW"])


def test_as_of_applies_to_indirect_links(org):
    """HoldCo's own shareholder changes: the walk reads every level on the as-of date."""
    target, hold = company(org, "T"), company(org, "H")
    before, after = person(org, "BEFORE"), person(org, "AFTER")
    owns(hold, target, 100)
    owns(before, hold, 100, valid_to=date(2025, 6, 30))
    owns(after, hold, 100, valid_from=date(2025, 7, 1))
    assert figures(
        ownership_structure(customer=target, as_of=date(2025, 6, 30), threshold=T25)
    ) == {"BEFORE": Decimal(100)}
    assert figures(ownership_structure(customer=target, as_of=date(2025, 7, 1), threshold=T25)) == {
        "AFTER": Decimal(100)
    }


def test_discrepancies_both_kinds(org):
    """Jane is derived (30%) but not declared; Dan is declared but holds nothing; Eve is
    declared with 10% (below 25%); Jim is both declared and derived: no discrepancy."""
    target, hold = company(org, "T"), company(org, "H")
    jane, dan = person(org, "JANE", "Jane Doe"), person(org, "DAN", "Dan Poe")
    eve, jim = person(org, "EVE", "Eve Moe"), person(org, "JIM", "Jim Low")
    owns(hold, target, 60)
    owns(jane, hold, 50)
    owns(eve, target, 10)
    owns(jim, target, 30)
    for declared in (dan, eve, jim):
        role(declared, target, Role.UBO)
    structure = ownership_structure(customer=target, as_of=TODAY, threshold=T25)
    assert [(d.party.reference_id, d.kind, d.message) for d in structure.discrepancies] == [
        (
            "DAN",
            DECLARED_NOT_DERIVED,
            "Dan Poe (DAN) is declared as UBO but they hold no shares in it, directly or "
            "through other companies, below the 25% threshold.",
        ),
        (
            "EVE",
            DECLARED_NOT_DERIVED,
            "Eve Moe (EVE) is declared as UBO but their effective ownership is 10%, below "
            "the 25% threshold.",
        ),
        (
            "JANE",
            DERIVED_NOT_DECLARED,
            "Jane Doe (JANE) owns 30% effectively (threshold 25%) but is not declared as UBO.",
        ),
    ]


def test_roles_are_sorted_into_lists(org):
    target = company(org, "T")
    d, a, u = person(org, "DIR"), person(org, "AUTH"), person(org, "UBO1")
    role(d, target, Role.DIRECTOR)
    role(a, target, Role.AUTHORIZED_PERSON)
    role(u, target, Role.UBO, ownership_percentage=Decimal(30))
    role(d, target, Role.BANK_ACCOUNT)
    structure = ownership_structure(customer=target, as_of=TODAY, threshold=T25)
    assert [h.party.reference_id for h in structure.directors] == ["DIR"]
    assert [h.party.reference_id for h in structure.authorized_persons] == ["AUTH"]
    assert [h.party.reference_id for h in structure.declared_ubos] == ["UBO1"]
    assert structure.shareholders == []


def test_companies_never_become_derived_ubos(org):
    target, hold = company(org, "T"), company(org, "H")
    owns(hold, target, 100)
    structure = ownership_structure(customer=target, as_of=TODAY, threshold=T25)
    assert structure.derived_ubos == []


def test_inactive_customers_still_count(org):
    target = company(org, "T")
    owns(person(org, "GONE", status="inactive"), target, 40)
    assert figures(ownership_structure(customer=target, as_of=TODAY, threshold=T25)) == {
        "GONE": Decimal(40)
    }


def test_other_organisations_connections_are_ignored(org):
    """Defence in depth: even a (forbidden) cross-tenant row is not walked."""
    target, hold = company(org, "T"), company(org, "H")
    owns(hold, target, 100)
    other = OrganisationFactory()
    stranger = person(other, "STRANGER")
    owns(stranger, hold, 100).__class__.objects.filter(connected_customer=stranger).update(
        organisation=other
    )
    assert figures(ownership_structure(customer=target, as_of=TODAY, threshold=T25)) == {}


def test_depth_limit_reports_truncation(org):
    """A chain of 14 companies with 100% each: the walk stops at 12 and says so."""
    nodes = [company(org, f"C{i}") for i in range(14)]
    for owned, holder in itertools.pairwise(nodes):
        owns(holder, owned, 100)
    owns(person(org, "TOP"), nodes[-1], 100)
    structure = ownership_structure(customer=nodes[0], as_of=TODAY, threshold=T25)
    assert structure.truncated is True
    assert structure.derived_ubos == []
    shallow = ownership_structure(customer=nodes[3], as_of=TODAY, threshold=T25)
    assert shallow.truncated is False
    assert figures(shallow) == {"TOP": Decimal(100)}


def test_exact_arithmetic_and_display_rounding(org):
    """1/3 × 1/3 of 100%: exact 11.1111…, shown 11.1111 and 11.11 in the text."""
    target, hold = company(org, "T", "T Ltd"), company(org, "H", "H Ltd")
    p = person(org, "P", "Pat")
    owns(hold, target, "33.3333")
    owns(p, hold, "33.3333")
    structure = ownership_structure(customer=target, as_of=TODAY, threshold=Decimal(10))
    (ubo,) = structure.derived_ubos
    assert ubo.effective == Decimal("33.3333") * Decimal("33.3333") / 100
    assert format_percentage(ubo.effective) == "11.1111"
    assert ubo.paths[0].text == "Pat →33.33%→ H Ltd →33.33%→ T Ltd = 11.11%"


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        (Decimal("30.0000"), 4, "30"),
        (Decimal("12.5"), 4, "12.5"),
        (Decimal("100"), 4, "100"),
        (Decimal("0.00004"), 4, "0"),
        (Decimal("0.00005"), 4, "0.0001"),
        (Decimal("11.115"), 2, "11.12"),
    ],
)
def test_format_percentage(value, places, text):
    assert format_percentage(value, places) == text


def _chain_of(org, depth, prefix):
    nodes = [company(org, f"{prefix}{i}") for i in range(depth)]
    for owned, holder in itertools.pairwise(nodes):
        owns(holder, owned, 90)
        owns(person(org, f"{prefix}{owned.reference_id}-P"), owned, 10)
    owns(person(org, f"{prefix}TOP"), nodes[-1], 100)
    return nodes[0]


@pytest.mark.parametrize(("depth", "width"), [(2, 1), (8, 1), (8, 4)])
def test_query_count_does_not_grow_with_depth_or_width(
    org, django_assert_num_queries, depth, width
):
    """Direct connections, the recursive walk, the named customers: 3 queries."""
    target = company(org, "TARGET")
    for branch in range(width):
        top = _chain_of(org, depth, f"B{branch}-")
        owns(top, target, Decimal(100) / width)
    with django_assert_num_queries(3):
        structure = ownership_structure(customer=target, as_of=TODAY, threshold=Decimal(1))
    assert len(structure.derived_ubos) == depth * width
