from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from organisations.models import Organisation


class OrganisationQuerySet(models.QuerySet[Any]):
    """Every tenant-owned model's queryset: the only way views reach rows."""

    def for_organisation(self, organisation: "Organisation") -> "OrganisationQuerySet":
        return self.filter(organisation=organisation)


class CustomerQuerySet(OrganisationQuerySet):
    def active(self) -> "CustomerQuerySet":
        return self.filter(status="active")  # type: ignore[return-value]
