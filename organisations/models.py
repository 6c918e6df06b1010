import hashlib
import secrets
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from organisations.audit import AuditedHistoricalRecords
from organisations.querysets import OrganisationQuerySet


class Scope(models.TextChoices):
    KYC_READ = "kyc:read"
    KYC_CREATE = "kyc:create"
    KYC_DELETE = "kyc:delete"
    WEBHOOKS_MANAGE = "webhooks:manage"


class Organisation(models.Model):
    """The tenant: every customer, connection, key and upload belongs to one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    ownership_threshold = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        default=Decimal("25"),
        validators=[MinValueValidator(Decimal("0.0001")), MaxValueValidator(Decimal("100"))],
        help_text="Effective ownership (percent) at which a natural person is a derived UBO.",
    )
    reject_unknown_fields = models.BooleanField(
        default=False,
        help_text="Answer 400 to customer keys that match no field definition instead of "
        "listing them in ignoredFields.",
    )
    kyb_min_shareholders = models.PositiveIntegerField(default=1)
    kyb_min_authorized_persons = models.PositiveIntegerField(default=1)
    kyb_min_total_shareholding = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        default=Decimal("51"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    screening_threshold = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.8"),
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("1"))],
        help_text="Screening score (0-1) from which a name match is recorded as a hit.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = AuditedHistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A staff user's organisation: the admin shows them only its data."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )

    objects = OrganisationQuerySet.as_manager()

    history = AuditedHistoricalRecords()

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation}"


KEY_PREFIX = "kyc_"


def hash_key(raw_key: str) -> str:
    # Keys are 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKey(models.Model):
    """A bearer key of one organisation; only its SHA-256 is stored."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = OrganisationQuerySet.as_manager()
    history = AuditedHistoricalRecords(excluded_fields=["last_used_at"])

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def generate_raw_key() -> str:
        return KEY_PREFIX + secrets.token_urlsafe(32)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
