"""organisations.audit: the history every audited model keeps."""

import pytest

from customers.models import Customer
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def test_the_history_manager_class_is_made_once(org):
    """simple-history would make a new manager class on every `instance.history`."""
    ada, bob = PersonFactory(organisation=org), PersonFactory(organisation=org)
    assert type(ada.history) is type(bob.history) is type(Customer.history)
    assert ada.history.model is Customer.history.model
    assert [row.history_type for row in ada.history.all()] == ["+"]
    assert [row.pk for row in Customer.history.filter(id=bob.pk)] == [bob.history.get().pk]
