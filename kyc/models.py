"""KYC sessions (seed 002), the risk rules of each organisation and the whole-book
rescoring job. The score itself lives on the customer (`Customer.risk_score`,
`risk_level`, `risk_factors`), written by `kyc.scoring`."""

import uuid

from django.db import models

from organisations.audit import AuditedHistoricalRecords
from organisations.querysets import OrganisationQuerySet


class SessionStatus(models.TextChoices):
    CREATED = "created"
    IN_PROGRESS = "in_progress"
    APPROVED = "approved"
    DECLINED = "declined"
    REVIEW = "review"
    EXPIRED = "expired"


FINAL_STATUSES = frozenset({SessionStatus.APPROVED, SessionStatus.DECLINED, SessionStatus.EXPIRED})

# Where each status may go next; a final status goes nowhere.
TRANSITIONS: dict[str, frozenset[str]] = {
    SessionStatus.CREATED: frozenset({SessionStatus.IN_PROGRESS, SessionStatus.EXPIRED}),
    SessionStatus.IN_PROGRESS: frozenset(
        {
            SessionStatus.APPROVED,
            SessionStatus.DECLINED,
            SessionStatus.REVIEW,
            SessionStatus.EXPIRED,
        }
    ),
    SessionStatus.REVIEW: frozenset(
        {SessionStatus.APPROVED, SessionStatus.DECLINED, SessionStatus.EXPIRED}
    ),
    SessionStatus.APPROVED: frozenset(),
    SessionStatus.DECLINED: frozenset(),
    SessionStatus.EXPIRED: frozenset(),
}


class CheckType(models.TextChoices):
    DOCUMENT = "document"
    LIVENESS = "liveness"
    FACE_MATCH = "face_match"
    AML = "aml"
    ADDRESS = "address"
    PHONE = "phone"
    EMAIL = "email"


class CheckStatus(models.TextChoices):
    APPROVED = "approved"
    DECLINED = "declined"
    REVIEW = "review"


class Session(models.Model):
    """One KYC verification of a customer, done by a verification tool or the client's
    own flow: kycregistry records its outcome, it does not read documents."""

    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.PROTECT,
        related_name="kyc_sessions",
        db_index=False,  # session_list_idx leads with it
    )
    public_id = models.UUIDField(default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="sessions", db_index=False
    )
    status = models.CharField(max_length=12, choices=SessionStatus, default=SessionStatus.CREATED)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=1000, blank=True)
    workflow = models.CharField(max_length=200, blank=True)
    checks = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = OrganisationQuerySet.as_manager()
    history = AuditedHistoricalRecords(no_db_index=["organisation", "customer", "public_id"])

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["public_id"], name="session_unique_public_id"),
            models.CheckConstraint(
                condition=models.Q(status__in=SessionStatus.values), name="session_valid_status"
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "-created_at"], name="session_list_idx"),
            models.Index(fields=["customer", "-created_at"], name="session_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"Session {self.public_id} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class RiskRules(models.Model):
    """One version of an organisation's risk rules (`kyc.rules` validates them); the
    highest version is in force. Versions are kept: a score names the one it used."""

    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.CASCADE,
        related_name="risk_rules",
        db_index=False,
    )
    version = models.PositiveIntegerField()
    rules = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganisationQuerySet.as_manager()
    history = AuditedHistoricalRecords(no_db_index=["organisation"])

    class Meta:
        verbose_name = "risk rules"
        verbose_name_plural = "risk rules"
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "version"], name="riskrules_unique_version"
            ),
        ]

    def __str__(self) -> str:
        return f"Risk rules v{self.version}"


class RescoringStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    SUPERSEDED = "superseded"
    FAILED = "failed"


class RiskRescoring(models.Model):
    """The background rescoring of every customer of an organisation after its rules
    changed, with its progress. A newer job supersedes a queued or running one."""

    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.CASCADE,
        related_name="risk_rescorings",
        db_index=False,
    )
    rules_version = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=RescoringStatus, default=RescoringStatus.QUEUED
    )
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    changed_levels = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "-created_at"], name="riskrescoring_list_idx"),
        ]

    def __str__(self) -> str:
        return f"Rescoring to v{self.rules_version} ({self.status})"
