"""Tenancy in one place for the ORM: every tenant-owned model's manager is built from
`OrganisationQuerySet`, so "the rows of one organisation" is written once."""

from typing import TYPE_CHECKING, Any, Self
from uuid import UUID

from django.db import models

if TYPE_CHECKING:
    from organisations.models import Organisation


class OrganisationQuerySet(models.QuerySet[Any]):
    """The queryset of a model with an `organisation` foreign key."""

    def for_organisation(self, organisation: "Organisation | UUID | str") -> Self:
        """The rows of `organisation` (the instance or its primary key)."""
        return self.filter(organisation=organisation)
