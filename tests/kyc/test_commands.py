from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer
from tests.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


def test_rescore_risk_scores_customers_that_predate_scoring(org, other_org):
    PersonFactory.create_batch(2, organisation=org)
    CompanyFactory(organisation=org)
    outsider = PersonFactory(organisation=other_org)
    out = StringIO()
    call_command("rescore_risk", "--organisation", org.slug, stdout=out)
    assert out.getvalue() == (
        "Rescored 3 customer(s) of acme with rules version 0: 0 changed level (completed).\n"
    )
    scores = sorted(Customer.objects.filter(organisation=org).values_list("risk_score", flat=True))
    assert scores == [0, 0, 20]  # the shipped defaults: a company 10 + no shareholder 10
    outsider.refresh_from_db()
    assert outsider.risk_score is None


def test_rescore_risk_unknown_organisation():
    with pytest.raises(CommandError, match=r"^No organisation with slug nope$"):
        call_command("rescore_risk", "--organisation", "nope")
