"""Properties of the effective-ownership figure on random (cyclic) structures."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import AccountType, Customer
from relations.models import Connection, Role
from relations.ownership.walk import aggregate, fetch_walk_rows
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 1, 15)
COMPANIES = 5
PERSONS = 3
percentages = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(25), places=4)
# For each company: up to 4 holders (companies 0..4, persons 5..7), ≤ 25% each: ≤ 100%.
holdings = st.lists(
    st.lists(st.tuples(st.integers(0, COMPANIES + PERSONS - 1), percentages), max_size=4),
    min_size=COMPANIES,
    max_size=COMPANIES,
)


def build(edges_per_company):
    org = OrganisationFactory()
    customers = Customer.objects.bulk_create(
        [
            Customer(
                organisation=org,
                reference_id=f"N{i}",
                name=f"N{i}",
                account_type=AccountType.COMPANY if i < COMPANIES else AccountType.PERSON,
            )
            for i in range(COMPANIES + PERSONS)
        ]
    )
    seen = set()
    rows = []
    for owned, holders in enumerate(edges_per_company):
        for holder, percentage in holders:
            if holder == owned or (owned, holder) in seen:
                continue
            seen.add((owned, holder))
            rows.append(
                Connection(
                    organisation=org,
                    customer=customers[owned],
                    connected_customer=customers[holder],
                    role=Role.SHAREHOLDER,
                    ownership_percentage=percentage,
                )
            )
    Connection.objects.bulk_create(rows)
    return org, customers, seen


def effective(org, target):
    walk = aggregate(fetch_walk_rows(organisation_id=org.pk, customer_id=target.pk, as_of=TODAY))
    return walk.effective_by_holder


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(holdings)
def test_effective_ownership_never_exceeds_100_percent(edges_per_company):
    org, customers, _ = build(edges_per_company)
    for target in customers[:COMPANIES]:
        figures = effective(org, target)
        persons = [figures.get(p.pk, Decimal(0)) for p in customers[COMPANIES:]]
        assert all(Decimal(0) <= value <= 100 for value in figures.values())
        # Stronger: all ultimate owners together hold at most 100%.
        assert sum(persons) <= 100


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    holdings, st.integers(0, COMPANIES - 1), st.integers(0, COMPANIES + PERSONS - 1), percentages
)
def test_adding_a_shareholding_never_lowers_a_figure(edges_per_company, owned, holder, extra):
    org, customers, seen = build(edges_per_company)
    if owned == holder or (owned, holder) in seen:
        return
    before = {t.pk: effective(org, t) for t in customers[:COMPANIES]}
    # Room is guaranteed: at most 4 × 25% exist, the extra is ≤ 25%, but keep ≤ 100%.
    total = sum(
        c.ownership_percentage
        for c in Connection.objects.filter(customer=customers[owned], role=Role.SHAREHOLDER)
    )
    extra = min(extra, Decimal(100) - total)
    if extra <= 0:
        return
    Connection.objects.create(
        organisation=org,
        customer=customers[owned],
        connected_customer=customers[holder],
        role=Role.SHAREHOLDER,
        ownership_percentage=extra,
    )
    for target in customers[:COMPANIES]:
        after = effective(org, target)
        for party, value in before[target.pk].items():
            assert after.get(party, Decimal(0)) >= value


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(holdings, st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(100), places=4))
def test_threshold_prefilter_keeps_every_holder_that_reaches_it(edges_per_company, threshold):
    """The floating-point pre-filter never drops a holder whose exact figure reaches the
    threshold, and the figures it keeps are the exact ones."""
    org, customers, _ = build(edges_per_company)
    for target in customers[:COMPANIES]:
        rows = fetch_walk_rows(organisation_id=org.pk, customer_id=target.pk, as_of=TODAY)
        exact = aggregate(rows).effective_by_holder
        filtered = aggregate(rows, threshold=threshold).effective_by_holder
        reaching = {h for h, value in exact.items() if value >= threshold}
        assert reaching <= filtered.keys()
        assert all(filtered[h] == exact[h] for h in filtered)
