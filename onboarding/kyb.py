"""KYB approval (seed 003's hard constraints, configurable per organisation).

A company can be APPROVED only when, counting its connections valid today:

* ``min_shareholders``: at least ``kyb_min_shareholders`` SHAREHOLDER connections;
* ``min_authorized_persons``: at least ``kyb_min_authorized_persons`` AUTHORIZED_PERSON
  connections (seed 003's REPRESENTATIVE);
* ``min_total_shareholding``: its direct shareholdings total at least
  ``kyb_min_total_shareholding`` percent.

Persons are approved without these constraints. Every connection write announces
itself (`kycregistry.events.ConnectionsChanged`) and ``kyb_recheck_changed`` reacts:
an approved company whose constraints no longer hold is flagged ``needs_review`` with
the reason, and the flag is cleared when they hold again. The onboarding status
itself never changes behind the analyst's back.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from customers.models import AccountType, Customer, OnboardingStatus
from customers.services import customer_set_onboarding_status
from kycregistry import events
from kycregistry.sql import AnyId
from organisations.audit import current_actor
from relations.models import Connection, Role
from relations.ownership import format_percentage, valid_on

MIN_SHAREHOLDERS = "min_shareholders"
MIN_AUTHORIZED_PERSONS = "min_authorized_persons"
MIN_TOTAL_SHAREHOLDING = "min_total_shareholding"
REVIEW_PREFIX = "KYB constraints no longer hold: "
RECHECK_CHUNK = 5000  # customer ids per query (an import announces thousands at once)


@dataclass(frozen=True)
class ConstraintFailure:
    name: str
    message: str

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


class KybConstraintsFailed(ValidationError):
    """Raised by `customer_approve`; carries every failed constraint."""

    def __init__(self, failures: list[ConstraintFailure]) -> None:
        self.failures = failures
        super().__init__(
            "Customer cannot be approved: " + "; ".join(str(f) for f in failures),
            code="kyb_constraints",
        )


def kyb_counts(*, customer: Customer, on: date | None = None) -> dict[str, Any]:
    """What the constraints count on `on` (today by default): `shareholders`,
    `authorized` (connections valid that day) and `total` (direct shareholdings, %)."""
    on = on or timezone.localdate()
    counts = (
        Connection.objects.filter(customer=customer, organisation_id=customer.organisation_id)
        .filter(valid_on(on))
        .aggregate(
            shareholders=Count("id", filter=Q(role=Role.SHAREHOLDER)),
            authorized=Count("id", filter=Q(role=Role.AUTHORIZED_PERSON)),
            total=Sum("ownership_percentage", filter=Q(role=Role.SHAREHOLDER)),
        )
    )
    # SQLite sums decimals as floats: bring the total back to the column's 4 places.
    counts["total"] = Decimal(str(counts["total"] or 0)).quantize(Decimal("0.0001"))
    return counts


def kyb_constraint_failures(
    *, customer: Customer, on: date | None = None
) -> list[ConstraintFailure]:
    """Every constraint `customer` fails on `on` (today by default); [] for persons."""
    if customer.account_type != AccountType.COMPANY:
        return []
    organisation = customer.organisation
    counts = kyb_counts(customer=customer, on=on)
    total = counts["total"]
    failures = []
    if counts["shareholders"] < organisation.kyb_min_shareholders:
        failures.append(
            ConstraintFailure(
                MIN_SHAREHOLDERS,
                f"at least {organisation.kyb_min_shareholders} SHAREHOLDER required "
                f"(found {counts['shareholders']})",
            )
        )
    if counts["authorized"] < organisation.kyb_min_authorized_persons:
        failures.append(
            ConstraintFailure(
                MIN_AUTHORIZED_PERSONS,
                f"at least {organisation.kyb_min_authorized_persons} AUTHORIZED_PERSON "
                f"required (found {counts['authorized']})",
            )
        )
    if total < organisation.kyb_min_total_shareholding:
        failures.append(
            ConstraintFailure(
                MIN_TOTAL_SHAREHOLDING,
                "shareholdings must total at least "
                f"{format_percentage(organisation.kyb_min_total_shareholding)}% "
                f"(found {format_percentage(total)}%)",
            )
        )
    return failures


def _save(customer: Customer, **fields: object) -> Customer:
    """Write the review flag (the caller holds the row lock); history via simple_history."""
    for name, value in fields.items():
        setattr(customer, name, value)
    # Only the fields written here: an unrelated legacy value must not block a KYB flag.
    others = [f.name for f in Customer._meta.fields if f.name not in fields]
    customer.full_clean(exclude=others, validate_unique=False, validate_constraints=False)
    customer.save(update_fields=[*fields, "updated_at"])
    events.customers_written(
        organisation_id=customer.organisation_id,
        changed_fields={customer.pk: list(fields)},
        actor=current_actor(),
    )
    return customer


def _locked(customer: Customer) -> Customer:
    return Customer.objects.select_for_update().select_related("organisation").get(pk=customer.pk)


def customer_approve(*, customer: Customer) -> Customer:
    """APPROVED when every KYB constraint holds; else `KybConstraintsFailed` (a
    ValidationError) naming each failed constraint. Clears a pending review flag."""
    with transaction.atomic():
        locked = _locked(customer)
        failures = kyb_constraint_failures(customer=locked)
        if failures:
            raise KybConstraintsFailed(failures)
        if locked.needs_review:
            _save(locked, needs_review=False, review_reason="")
        if locked.onboarding_status != OnboardingStatus.APPROVED:
            locked = customer_set_onboarding_status(
                customer=locked, status=OnboardingStatus.APPROVED
            )
    return locked


def customer_reject(*, customer: Customer) -> Customer:
    with transaction.atomic():
        locked = _locked(customer)
        if locked.onboarding_status != OnboardingStatus.REJECTED:
            locked = customer_set_onboarding_status(
                customer=locked, status=OnboardingStatus.REJECTED
            )
    return locked


def kyb_recheck_changed(event: events.ConnectionsChanged) -> None:
    """Reaction to connection writes: recheck the approved companies among the
    customers whose connections changed (new customers are pending: never checked)."""
    ids = sorted(event.customer_ids)
    for start in range(0, len(ids), RECHECK_CHUNK):
        companies = Customer.objects.filter(
            AnyId(F("pk"), ids[start : start + RECHECK_CHUNK]),
            account_type=AccountType.COMPANY,
            onboarding_status=OnboardingStatus.APPROVED,
        ).select_related("organisation")
        for customer in companies:
            kyb_recheck(customer=customer)


def kyb_recheck(*, customer: Customer) -> None:
    """Inside the writer's transaction (the customer row locked by the connection
    services and the import writer alike): flags an approved company whose connections
    no longer meet the organisation's constraints (needs review), and clears the flag
    it set once they hold again."""
    if (
        customer.account_type != AccountType.COMPANY
        or customer.onboarding_status != OnboardingStatus.APPROVED
    ):
        return
    failures = kyb_constraint_failures(customer=customer)
    if failures:
        reason = (REVIEW_PREFIX + "; ".join(str(f) for f in failures))[:1000]
        if not customer.needs_review or customer.review_reason != reason:
            _save(customer, needs_review=True, review_reason=reason)
    elif customer.needs_review and customer.review_reason.startswith(REVIEW_PREFIX):
        _save(customer, needs_review=False, review_reason="")


def customer_flag_for_review(*, customer: Customer, reason: str) -> Customer:
    """Flag the customer for an analyst's review with `reason` (kept when it is flagged
    already: the first reason still stands until the review clears it on approval)."""
    with transaction.atomic():
        locked = _locked(customer)
        if not locked.needs_review:
            _save(locked, needs_review=True, review_reason=reason[:1000])
    return locked
