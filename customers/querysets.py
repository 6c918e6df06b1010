from typing import Self

from organisations.querysets import OrganisationQuerySet


class CustomerQuerySet(OrganisationQuerySet):
    def active(self) -> Self:
        return self.filter(status="active")
