"""The one customer lookup of the API: every view with a `{referenceId}` in its path
finds the customer here."""

from customers.models import Customer
from kycregistry.api.scoping import ScopedAPIMixin

CUSTOMER_NOT_FOUND = "Customer not found"


class CustomerScopedMixin(ScopedAPIMixin):
    def get_customer(self, reference_id: str) -> Customer:
        """The caller's customer of `reference_id` (active or not); another
        organisation's is "Customer not found" like one that does not exist."""
        return self.get_scoped(Customer, CUSTOMER_NOT_FOUND, reference_id=reference_id)
