"""Back-office: the risk column and filter, factors and sessions on the customer page,
"Recalculate risk", the sessions list, and the risk rules form with its preview."""

import pytest

from customers.models import Customer
from kyc.models import RiskRules
from kyc.services import customer_rescore
from tests.admin_support import make_staff
from tests.factories import CompanyFactory, PersonFactory
from tests.kyc.factories import SessionFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = "/admin/customers/customer/"
SESSIONS = "/admin/kyc/session/"
RULES_ADD = "/admin/kyc/riskrules/add/"


@pytest.fixture
def staff_client(client, org):
    client.force_login(make_staff(org))
    return client


def rules_form(**overrides):
    data = {
        "countries": "IR = 50\nSY = 25",
        "person_points": "0",
        "company_points": "10",
        "declinedSession": "15",
        "declinedSessionMax": "45",
        "reviewSession": "10",
        "reviewSessionMax": "20",
        "noApprovedSession": "10",
        "connectedHighRisk": "25",
        "missingOwnership": "10",
        "screeningHit": "50",
        "screeningHitOpen": "10",
        "custom_fields": "",
        "band_medium": "25",
        "band_high": "50",
    }
    return {**data, **overrides}


def test_risk_column_is_coloured_and_filtered(staff_client, org, set_rules):
    set_rules(accountTypes={"2": 60})
    high = customer_rescore(customer=CompanyFactory(organisation=org))
    customer_rescore(customer=PersonFactory(organisation=org))
    response = staff_client.get(CUSTOMERS, {"risk": "High risk"})
    assert list(response.context["cl"].result_list) == [high]
    content = response.content.decode()
    assert 'class="risk-badge risk-high"' in content and "High risk (60)" in content


def test_change_page_shows_factors_and_sessions(staff_client, org, set_rules):
    set_rules(accountTypes={"2": 10}, declinedSession=20)
    company = CompanyFactory(organisation=org)
    SessionFactory(customer=company, status="declined", workflow="kyb-flow")
    customer_rescore(customer=company)
    content = staff_client.get(f"{CUSTOMERS}{company.pk}/change/").content.decode()
    assert "<code>account_type</code></td><td>Account type Company</td><td>10</td>" in content
    assert "1 declined session (20 points each)" in content
    assert "KYC sessions" in content and "kyb-flow" in content


def test_recalculate_risk_action(staff_client, org, set_rules):
    set_rules(accountTypes={"1": 30})
    people = PersonFactory.create_batch(3, organisation=org)
    response = staff_client.post(
        CUSTOMERS,
        {"action": "recalculate_risk", "_selected_action": [p.pk for p in people]},
        follow=True,
    )
    assert "Risk recalculated for 3 customer(s)." in response.content.decode()
    assert set(Customer.objects.values_list("risk_score", "risk_level")) == {(30, "Medium risk")}
    assert Customer.history.filter(history_channel="admin").exists() is False  # first score


def test_sessions_list_is_scoped_and_read_only(staff_client, org, other_org):
    mine = SessionFactory(customer=PersonFactory(organisation=org), status="review")
    SessionFactory(customer=PersonFactory(organisation=other_org))
    response = staff_client.get(SESSIONS, {"status__exact": "review"})
    assert list(response.context["cl"].result_list) == [mine]
    assert staff_client.get(SESSIONS).context["cl"].result_count == 1
    assert staff_client.get(f"{SESSIONS}add/").status_code == 403


def test_rules_form_preview_saves_nothing_then_save_stores_a_version(staff_client, org):
    customer = customer_rescore(customer=CompanyFactory(organisation=org, country="FR"))
    assert customer.risk_level == "Low risk"  # company 10 + no shareholder 10
    form = staff_client.get(RULES_ADD).context["adminform"].form
    assert form.initial["countries"].startswith("KP = 50\nIR = 50")
    response = staff_client.post(RULES_ADD, {**rules_form(countries="FR = 40"), "_preview": "1"})
    assert response.status_code == 200
    assert (
        "Preview: 1 customer(s) would change level (1 Low risk → High risk). "
        "Nothing was saved; press Save to apply." in response.content.decode()
    )
    assert not RiskRules.objects.exists()
    response = staff_client.post(RULES_ADD, {**rules_form(countries="FR = 40"), "_save": "1"})
    assert response.status_code == 302
    stored = RiskRules.objects.get()
    assert (stored.version, stored.rules["countries"]) == (1, {"FR": 40})
    customer.refresh_from_db()
    assert (customer.risk_score, customer.risk_level) == (60, "High risk")
    assert stored.history.get().history_channel == "admin"


def test_rules_form_errors(staff_client):
    response = staff_client.post(
        RULES_ADD, rules_form(countries="ZZ = 10\nFR: 3", band_medium="60", band_high="50")
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert errors == ["Countries, line 2: write KEY = points."]
    for points in ("\u00b9", "--5", "\u0661"):
        response = staff_client.post(RULES_ADD, rules_form(countries=f"FR = {points}"))
        errors = response.context["adminform"].form.non_field_errors()
        assert errors == ["Countries, line 1: write KEY = points."]
    response = staff_client.post(RULES_ADD, rules_form(countries="ZZ = 10", band_medium="60"))
    assert response.context["adminform"].form.non_field_errors() == [
        "Unknown key 'ZZ'.",
        'Must be {"medium": M, "high": H}: the lowest score of each level, with 1 ≤ M < H ≤ 100.',
    ]
    assert not RiskRules.objects.exists()
