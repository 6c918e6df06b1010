import os
import secrets
from array import array
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from django.core.validators import MaxValueValidator
from django.db import models

from customers.querysets import CustomerQuerySet
from customers.text import fold
from kycregistry.uuid7 import uuid7
from organisations.audit import AuditedHistoricalRecords
from organisations.querysets import OrganisationQuerySet


class AccountType(models.IntegerChoices):
    PERSON = 1, "Person"
    COMPANY = 2, "Company"


class CustomerStatus(models.TextChoices):
    ACTIVE = "active"
    INACTIVE = "inactive"


class OnboardingStatus(models.TextChoices):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class MonitoringFrequency(models.TextChoices):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class RiskLevel(models.TextChoices):
    LOW = "Low risk"
    MEDIUM = "Medium risk"
    HIGH = "High risk"


def risk_level_for(score: int | None, *, medium: int = 25, high: int = 50) -> str | None:
    """The level of `score` given the lowest score of the medium and high bands (the
    defaults: 0–24 low, 25–49 medium, 50–100 high; seed 001 shows 50 → High risk). Each
    organisation's risk rules set its own bands (`kyc.rules`), and the level a score had
    when it was calculated is stored beside it (`Customer.risk_level`)."""
    if score is None:
        return None
    if score >= high:
        return RiskLevel.HIGH
    if score >= medium:
        return RiskLevel.MEDIUM
    return RiskLevel.LOW


def new_client_number() -> str:
    """An 8-digit number without a leading zero (seed 004's clientNumber)."""
    return str(10_000_000 + secrets.randbelow(90_000_000))


# The largest multiple of the 90,000,000 numbers below 2**32: a 32-bit random value
# under it gives each number the same chance.
_UNBIASED = 2**32 // 90_000_000 * 90_000_000


def new_client_numbers(count: int) -> set[str]:
    """About `count` distinct candidates drawn as `new_client_number` draws one, from
    one read of os.urandom (a writer of thousands of customers drew each in turn)."""
    words = array("I", os.urandom(4 * count))
    return {str(10_000_000 + word % 90_000_000) for word in words if word < _UNBIASED}


def draw_client_numbers(
    *, organisation_id: UUID, count: int, candidates_only: bool = False
) -> list[str]:
    """`count` distinct client numbers no customer of the organisation holds yet, for
    every writer of new customers (a concurrent writer may still take one first: the
    unique constraint has the last word). Large draws read the organisation's numbers
    once; small ones, and all with `candidates_only` (a writer in batches, whose
    organisation grows by each), ask only about the candidates."""
    numbers: list[str] = []
    chosen: set[str] = set()
    taken: set[str] | None = None
    if count > 1000 and not candidates_only:
        taken = set(
            Customer.objects.filter(organisation_id=organisation_id).values_list(
                "client_number", flat=True
            )
        )
    while len(numbers) < count:
        candidates = {new_client_number() for _ in range(count - len(numbers))} - chosen
        unavailable = (
            taken
            if taken is not None
            else set(
                Customer.objects.filter(
                    organisation_id=organisation_id, client_number__in=candidates
                ).values_list("client_number", flat=True)
            )
        )
        fresh = candidates - unavailable
        chosen |= fresh
        numbers.extend(fresh)
    return numbers


# The customer columns `search_text` is folded from.
SEARCH_INPUTS = ("name", "reference_id", "client_number", "email", "identifications")


def search_text(values: Mapping[str, Any]) -> str:
    """The accent- and case-folded text the `search` filter matches, from a customer's
    SEARCH_INPUTS (the model's save and the bulk writer both call this)."""
    numbers = [
        str(item.get("identificationNumber", ""))
        for item in values.get("identifications") or []
        if isinstance(item, dict)
    ]
    parts = [
        values.get("name"),
        values.get("reference_id"),
        values.get("client_number"),
        values.get("email"),
        *numbers,
    ]
    return fold(" ".join(part for part in parts if part))


class Customer(models.Model):
    """A person or company of one organisation, identified by the client's referenceId.

    Identity and profile (seed 004) are flattened into columns so they can be
    filtered; identifications and the address keep their nested JSON shape.
    """

    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.PROTECT,
        related_name="customers",
        # (organisation, reference_id) leads every lookup; a lone index here misleads
        # the planner during bulk imports (docs/performance.md).
        db_index=False,
    )
    reference_id = models.CharField(max_length=128)
    # The stable public id of the client API (`/clients/{id}`, webhooks' client id).
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    name = models.CharField(max_length=255)
    account_type = models.PositiveSmallIntegerField(choices=AccountType)
    status = models.CharField(max_length=8, choices=CustomerStatus, default=CustomerStatus.ACTIVE)
    client_number = models.CharField(max_length=8, default=new_client_number, editable=False)
    external_id = models.CharField(max_length=128, blank=True)
    risk_score = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    # Written by the risk scoring (kyc.scoring) only, set-wise: the level by the
    # organisation's bands, the factors that add up to the score, and when and under
    # which rules version they were calculated.
    risk_level = models.CharField(max_length=12, choices=RiskLevel, blank=True, editable=False)
    risk_factors = models.JSONField(default=list, blank=True, editable=False)
    risk_calculated_at = models.DateTimeField(null=True, blank=True, editable=False)
    risk_rules_version = models.PositiveIntegerField(null=True, blank=True, editable=False)
    last_ip_address = models.GenericIPAddressField(null=True, blank=True)
    last_user_agent = models.CharField(max_length=1000, blank=True)
    usual_user_agent = models.CharField(max_length=1000, blank=True)
    last_screening_date = models.DateTimeField(null=True, blank=True)
    onboarding_status = models.CharField(
        max_length=8, choices=OnboardingStatus, default=OnboardingStatus.PENDING
    )
    needs_review = models.BooleanField(
        default=False,
        help_text="Set when a change breaks a KYB constraint of an approved company.",
    )
    review_reason = models.CharField(max_length=1000, blank=True)
    monitored = models.BooleanField(default=False)
    monitoring_frequency = models.CharField(max_length=8, choices=MonitoringFrequency, blank=True)
    next_screening_at = models.DateTimeField(null=True, blank=True)

    # identity (seed 004): person fields, company fields, and the shared ones
    given_name = models.CharField(max_length=255, blank=True)
    family_name = models.CharField(max_length=255, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    legal_name = models.CharField(max_length=255, blank=True)
    incorporation_date = models.DateField(null=True, blank=True)
    corporation_type = models.CharField(max_length=64, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    identifications = models.JSONField(default=list, blank=True)

    # profile (seed 004): residentialAddress for persons, registrationAddress for companies
    address = models.JSONField(default=dict, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(max_length=254, blank=True)

    custom_fields = models.JSONField(
        default=dict, blank=True, help_text="Typed values keyed by field definition key."
    )
    # Folded name, referenceId, clientNumber, identification numbers and email: one
    # column makes accent-insensitive search identical on SQLite and PostgreSQL.
    search_text = models.TextField(blank=True, editable=False)
    # Set by a bulk import: a digest of the sheet row that gave this state, and the
    # `updated_at` it was taken at. Any later write moves `updated_at`, so an equal
    # digest on the next upload proves the row would change nothing (imports.fingerprint).
    import_digest = models.CharField(max_length=32, blank=True, editable=False)
    import_digest_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CustomerQuerySet.as_manager()
    # History is read per customer (by id); other indexes and the user's foreign key
    # would only slow writes (a bulk import writes a history row per customer).
    history = AuditedHistoricalRecords(
        # A level change is recorded (with its reason); the factors behind it are not
        # history: they are recalculated from the rules and the data.
        excluded_fields=[
            "search_text",
            "import_digest",
            "import_digest_at",
            "risk_factors",
            "risk_calculated_at",
            "risk_rules_version",
        ],
        no_db_index=["organisation", "public_id"],
        plain_user_column=True,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "reference_id"], name="customer_unique_reference"
            ),
            models.UniqueConstraint(
                fields=["organisation", "client_number"], name="customer_unique_client_number"
            ),
            models.CheckConstraint(
                condition=models.Q(account_type__in=AccountType.values),
                name="customer_valid_account_type",
            ),
            models.CheckConstraint(
                condition=models.Q(risk_score__isnull=True) | models.Q(risk_score__lte=100),
                name="customer_risk_score_range",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organisation", "status", "-created_at"], name="customer_list_idx"
            ),
            # The monitoring schedule asks "who is due?" across organisations.
            models.Index(
                fields=["next_screening_at"],
                condition=models.Q(monitored=True),
                name="customer_screening_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.reference_id})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_text = self.build_search_text()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            # Every write moves updated_at, which import digests rely on.
            kwargs["update_fields"] = {*update_fields, "search_text", "updated_at"}
        super().save(*args, **kwargs)

    @property
    def is_person(self) -> bool:
        return self.account_type == AccountType.PERSON

    @property
    def risk_score_name(self) -> str | None:
        return self.risk_level or None

    def build_search_text(self) -> str:
        return search_text({name: getattr(self, name) for name in SEARCH_INPUTS})


class FieldType(models.TextChoices):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    BOOLEAN = "boolean"
    CHOICE = "choice"


class CustomerFieldDefinition(models.Model):
    """A customer field an organisation defines; values live in Customer.custom_fields."""

    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.CASCADE,
        related_name="field_definitions",
        db_index=False,
    )
    key = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    field_type = models.CharField(max_length=8, choices=FieldType, default=FieldType.TEXT)
    required = models.BooleanField(default=False)
    choices = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganisationQuerySet.as_manager()
    history = AuditedHistoricalRecords()

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "key"], name="field_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"
