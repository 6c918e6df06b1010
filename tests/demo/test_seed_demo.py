from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from customers.models import Customer
from demo.data import COMPANIES, CONNECTIONS, PERSONS
from organisations.authentication import ApiKeyAuthentication
from organisations.models import ApiKey, Organisation, Scope
from relations.models import Connection

pytestmark = pytest.mark.django_db


def seed() -> list[str]:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue().splitlines()


def test_seed_demo_loads_the_demo_and_prints_login_and_key(client):
    lines = seed()

    organisation = Organisation.objects.get(slug="demo")
    assert organisation.name == "Demo Bank"
    customers = Customer.objects.for_organisation(organisation)
    assert customers.count() == len(PERSONS) + len(COMPANIES) >= 30
    assert Connection.objects.filter(organisation=organisation).count() == sum(
        len(items) for items in CONNECTIONS.values()
    )
    assert "Login:    admin / demo-admin-2026" in lines
    assert "Admin:    http://127.0.0.1:8000/admin/" in lines

    raw_key = lines[-1]
    request = Request(APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {raw_key}"))
    _user, api_key = ApiKeyAuthentication().authenticate(request)
    assert api_key.organisation == organisation
    assert api_key.scopes == list(Scope.values)

    # The printed login sees the demo data in the admin.
    assert client.login(username="admin", password="demo-admin-2026")
    response = client.get("/admin/customers/customer/")
    assert response.status_code == 200
    assert response.context["cl"].result_count == customers.count()


def test_seed_demo_writes_history_through_the_services():
    seed()
    channels = set(Customer.history.values_list("history_channel", flat=True))
    assert channels == {"command"}
    assert set(Connection.history.values_list("history_channel", flat=True)) == {"command"}


def test_seed_demo_has_multi_level_and_cross_holdings():
    seed()

    def holders(ref: str, role: str = "SHAREHOLDER") -> set[str]:
        return set(
            Connection.objects.filter(customer__reference_id=ref, role=role).values_list(
                "connected_customer__reference_id", flat=True
            )
        )

    # person → holdco → group → opco → subsidiary: four levels.
    assert "PER-001" in holders("COMP-001")
    assert "COMP-001" in holders("COMP-002")
    assert "COMP-002" in holders("COMP-003")
    assert "COMP-003" in holders("COMP-004")
    # cross-holding
    assert "COMP-007" in holders("COMP-006") and "COMP-006" in holders("COMP-007")
    roles = set(Connection.objects.values_list("role", flat=True))
    assert roles == {
        "SHAREHOLDER",
        "DIRECTOR",
        "AUTHORIZED_PERSON",
        "UBO",
        "BANK_ACCOUNT",
        "ACCOUNT_HOLDER",
    }


def test_seed_demo_twice_duplicates_nothing():
    seed()
    counts = (Customer.objects.count(), Connection.objects.count(), Customer.history.count())
    connection_ids = set(Connection.objects.values_list("id", flat=True))
    second = seed()

    assert (Customer.objects.count(), Connection.objects.count()) == counts[:2]
    assert Customer.history.count() == counts[2]  # nothing changed, nothing written
    assert set(Connection.objects.values_list("id", flat=True)) == connection_ids
    assert Organisation.objects.filter(slug="demo").count() == 1
    # One active demo key: the earlier one is revoked, the new one printed.
    active = ApiKey.objects.filter(revoked_at__isnull=True)
    assert active.count() == 1
    assert second[-1].startswith(active.get().prefix)


def test_seed_demo_fills_the_review_queue():
    from screening.models import ScreeningHit

    seed()
    hits = ScreeningHit.objects.filter(organisation__slug="demo").select_related("party", "entry")
    director = {(hit.customer.reference_id, hit.role, hit.entry.source_id) for hit in hits}
    assert ("COMP-002", "DIRECTOR", "demo-musa") in director
    assert ("COMP-003", "DIRECTOR", "demo-musa") in director
    seed()  # again: no duplicate hits
    assert ScreeningHit.objects.filter(organisation__slug="demo").count() == hits.count()
