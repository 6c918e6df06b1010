"""The KYB approval checklist in an officer's words: each constraint `customer_approve`
checks (onboarding.kyb), whether it holds today, and the open UBO discrepancies of the
ownership structure (a warning: they do not block approval)."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils import timezone

from customers.models import AccountType, Customer
from onboarding.kyb import (
    MIN_AUTHORIZED_PERSONS,
    MIN_SHAREHOLDERS,
    MIN_TOTAL_SHAREHOLDING,
    ConstraintFailure,
    kyb_counts,
)
from relations.ownership import format_percentage, ownership_structure

NUMBER_WORDS = {0: "none yet", 1: "one", 2: "two", 3: "three"}


@dataclass(frozen=True)
class ChecklistItem:
    name: str  # the constraint's key in onboarding.kyb
    label: str  # "At least one authorised person"
    ok: bool
    found: str  # "none yet", "2", "60%"

    @property
    def mark(self) -> str:
        return "✔" if self.ok else "✗"

    def __str__(self) -> str:
        return f"{self.label} — {self.mark} {self.found}"


@dataclass
class KybChecklist:
    applies: bool  # False for persons: approved without KYB constraints
    items: list[ChecklistItem] = field(default_factory=list)
    discrepancies: list[str] = field(default_factory=list)

    @property
    def passes(self) -> bool:
        return all(item.ok for item in self.items)

    @property
    def failing(self) -> list[ChecklistItem]:
        return [item for item in self.items if not item.ok]


def _at_least(count: int, one: str, many: str) -> str:
    if count == 1:
        return f"At least one {one}"
    return f"At least {NUMBER_WORDS.get(count, str(count))} {many}"


def _found(count: int) -> str:
    return "none yet" if count == 0 else str(count)


def kyb_checklist(*, customer: Customer, on: date | None = None) -> KybChecklist:
    """Every KYB constraint of the customer's organisation with what holds today, and
    the ownership discrepancies (declared vs derived UBOs) as sentences."""
    if customer.account_type != AccountType.COMPANY:
        return KybChecklist(applies=False)
    on = on or timezone.localdate()
    organisation = customer.organisation
    counts = kyb_counts(customer=customer, on=on)
    minimum_shareholders = organisation.kyb_min_shareholders
    minimum_authorised = organisation.kyb_min_authorized_persons
    minimum_total: Decimal = organisation.kyb_min_total_shareholding
    items = [
        ChecklistItem(
            MIN_SHAREHOLDERS,
            _at_least(minimum_shareholders, "shareholder", "shareholders"),
            counts["shareholders"] >= minimum_shareholders,
            _found(counts["shareholders"]),
        ),
        ChecklistItem(
            MIN_AUTHORIZED_PERSONS,
            _at_least(minimum_authorised, "authorised person", "authorised persons"),
            counts["authorized"] >= minimum_authorised,
            _found(counts["authorized"]),
        ),
        ChecklistItem(
            MIN_TOTAL_SHAREHOLDING,
            f"Direct shareholdings total at least {format_percentage(minimum_total)}%",
            counts["total"] >= minimum_total,
            f"{format_percentage(counts['total'])}%",
        ),
    ]
    structure = ownership_structure(
        customer=customer, as_of=on, threshold=organisation.ownership_threshold
    )
    return KybChecklist(
        applies=True,
        items=items,
        discrepancies=[d.message for d in structure.discrepancies],
    )


def failures_in_words(*, customer: Customer, failures: list[ConstraintFailure]) -> str:
    """The reasons `customer_approve` refused, as the checklist words them."""
    checklist = kyb_checklist(customer=customer)
    named = {item.name: item for item in checklist.items}
    reasons = [
        str(named[failure.name]) if failure.name in named else failure.message
        for failure in failures
    ]
    return "Cannot approve: " + "; ".join(reasons) + "."
