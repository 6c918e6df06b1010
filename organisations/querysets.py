"""Tenancy in one place for the ORM: every tenant-owned model's manager is built from
`OrganisationQuerySet`, so "the rows of one organisation" is written once."""

from typing import TYPE_CHECKING, Any, Self
from uuid import UUID

from django.db import models

from kycregistry.compiled import Param

if TYPE_CHECKING:
    from organisations.models import Organisation

# The organisation of a compiled query (kycregistry.compiled): written
# `for_organisation(ORGANISATION)`, it takes the caller's organisation when it runs
# (kycregistry.api.scoping.ScopedAPIMixin.run_scoped).
ORGANISATION = Param("organisation", models.UUIDField())


class OrganisationQuerySet(models.QuerySet[Any]):
    """The queryset of a model with an `organisation` foreign key."""

    def for_organisation(self, organisation: "Organisation | UUID | str | Param") -> Self:
        """The rows of `organisation` (the instance or its primary key, or ORGANISATION
        in a compiled query)."""
        return self.filter(organisation=organisation)
