"""What the client API keeps beside customers and connections: the relations of seed
004 (a relation type may be two connections, and a relation keeps its own id), the
portal users `createUser` makes, and service providers' records for the migration
workflow."""

import uuid

from django.db import models

from organisations.audit import AuditedHistoricalRecords
from organisations.querysets import OrganisationQuerySet


class RelationType(models.TextChoices):
    DIRECTOR = "director"
    SHAREHOLDER = "shareholder"
    DIRECTOR_AND_SHAREHOLDER = "director-and-shareholder"
    AUTHORIZED_PERSON = "authorized-person"


class ClientRelation(models.Model):
    """`person` is related to `company` as `relation`. Its connections are the
    company's connections held by the person in the roles the type stands for
    (`clients.services.relation_roles`); this row gives them one id and type."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, db_index=False
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    company = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="client_relations"
    )
    person = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="related_as"
    )
    relation = models.CharField(max_length=32, choices=RelationType)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganisationQuerySet.as_manager()
    history = AuditedHistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.person_id} {self.relation} of {self.company_id}"


class PortalUser(models.Model):
    """A user of the organisation's client portal, made by `createUser` (seed 004).
    Not a staff user: it has no access to the admin; the portal itself is not part of
    this product."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, db_index=False
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The id of seed 004's userClientRelation.
    relation_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="portal_users"
    )
    email = models.EmailField(max_length=254)
    active = models.BooleanField(default=True, help_text="Untick to disable the user.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganisationQuerySet.as_manager()
    history = AuditedHistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "email"], name="portal_user_unique_email"
            ),
        ]

    def __str__(self) -> str:
        return self.email


class ServiceProviderRecord(models.Model):
    """A client as a service provider (e.g. a bank) holds it, loaded by the
    organisation; the migration workflow creates the client from it and links the two
    (`connection_id`)."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, db_index=False
    )
    service_provider = models.SlugField(max_length=64)
    source_id = models.CharField(max_length=128)
    client = models.JSONField(help_text="Seed 004's client object: identity and profile.")
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="service_provider_records",
    )
    connection_id = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    connected_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganisationQuerySet.as_manager()
    history = AuditedHistoricalRecords()

    class Meta:
        ordering = ["service_provider", "source_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "service_provider", "source_id"],
                name="provider_record_unique_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_provider}: {self.source_id}"
