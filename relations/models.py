from decimal import Decimal

from django.db import models

from organisations.audit import AuditedHistoricalRecords
from organisations.querysets import OrganisationQuerySet


class Role(models.TextChoices):
    UBO = "UBO"
    DIRECTOR = "DIRECTOR"
    SHAREHOLDER = "SHAREHOLDER"
    AUTHORIZED_PERSON = "AUTHORIZED_PERSON"
    BANK_ACCOUNT = "BANK_ACCOUNT"
    ACCOUNT_HOLDER = "ACCOUNT_HOLDER"


# Seed 000's table: who may hold each role.
PERSON_ONLY_ROLES = frozenset({Role.UBO, Role.DIRECTOR, Role.AUTHORIZED_PERSON})
PERCENTAGE_ROLES = frozenset({Role.SHAREHOLDER, Role.UBO})
# Accepted on input, stored as the canonical role (seed 003).
ROLE_ALIASES = {"REPRESENTATIVE": Role.AUTHORIZED_PERSON}


class Connection(models.Model):
    """The connected customer holds `role` towards the customer, for a period.

    `customer` is the company (or account) the role is held in; `connected_customer`
    is the holder: a shareholder row reads "connected_customer owns
    ownership_percentage of customer".
    """

    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.PROTECT,
        related_name="connections",
        db_index=False,
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="connections"
    )
    # connection_holder_idx (connected_customer, role) serves lookups by holder.
    connected_customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="connected_to",
        db_index=False,
    )
    role = models.CharField(max_length=20, choices=Role)
    ownership_percentage = models.DecimalField(
        max_digits=7, decimal_places=4, null=True, blank=True
    )
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganisationQuerySet.as_manager()
    # History is read per connection (by id); other indexes and the user's foreign key
    # would only slow writes (a bulk import writes a history row per connection).
    history = AuditedHistoricalRecords(
        no_db_index=["organisation", "customer", "connected_customer"],
        plain_user_column=True,
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(customer=models.F("connected_customer")),
                name="connection_not_self",
            ),
            models.CheckConstraint(
                condition=models.Q(ownership_percentage__isnull=True)
                | models.Q(ownership_percentage__gt=0, ownership_percentage__lte=Decimal("100")),
                name="connection_percentage_range",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_from__isnull=True)
                | models.Q(valid_to__isnull=True)
                | models.Q(valid_from__lte=models.F("valid_to")),
                name="connection_period_order",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="connection_valid_role"
            ),
        ]
        indexes = [
            # Ownership walks go upwards from a company to its holders and back down.
            models.Index(fields=["connected_customer", "role"], name="connection_holder_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.connected_customer_id} {self.role} of {self.customer_id}"
