from io import StringIO

import pytest
from django.core.management import call_command

from customers.models import Customer
from kyc.models import RiskRules, Session

pytestmark = pytest.mark.django_db


def test_seed_demo_shows_every_level_with_sessions_and_rules():
    call_command("seed_demo", stdout=StringIO())
    levels = set(Customer.objects.values_list("risk_level", flat=True))
    assert levels == {"Low risk", "Medium risk", "High risk"}
    assert Session.objects.count() == 18
    ngozi = Customer.objects.get(reference_id="PER-003")
    # NG 15, a declined 15 and a review session 10, none approved 10, PEP 30, private
    # banking 10
    assert [(f["code"], f["points"]) for f in ngozi.risk_factors] == [
        ("country", 15),
        ("declined_sessions", 15),
        ("review_sessions", 10),
        ("no_approved_session", 10),
        ("custom_field", 30),
        ("custom_field", 10),
    ]
    assert (ngozi.risk_score, ngozi.risk_level) == (90, "High risk")
    assert ngozi.usual_user_agent.startswith("Mozilla/5.0 (Windows")
    out = StringIO()
    call_command("seed_demo", stdout=out)  # again: nothing new
    assert RiskRules.objects.count() == 1 and Session.objects.count() == 18
    assert "18 KYC sessions; risk: 4 High risk, 15 Low risk, 11 Medium risk." in out.getvalue()
