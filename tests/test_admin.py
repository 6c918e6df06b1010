"""Tenancy of the admin (kycregistry.admin): staff see and touch only their
organisation; superusers see all; staff without a membership see nothing."""

import pytest
from django.contrib.auth.models import Group

from customers.models import Customer
from organisations.groups import ANALYST, APPROVE_CUSTOMER, COMPLIANCE_OFFICER
from relations.models import Connection, Role
from tests.admin_support import make_staff, make_superuser
from tests.factories import CompanyFactory, ConnectionFactory, PersonFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = "/admin/customers/customer/"


@pytest.fixture
def mine(org):
    return [PersonFactory(organisation=org, name=f"Mine {i}") for i in range(3)]


@pytest.fixture
def theirs(other_org):
    return [PersonFactory(organisation=other_org, name=f"Theirs {i}") for i in range(3)]


@pytest.fixture
def staff_client(client, org):
    client.force_login(make_staff(org))
    return client


def listed_ids(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def test_staff_list_shows_only_their_organisation(staff_client, mine, theirs):
    response = staff_client.get(CUSTOMERS)
    assert response.status_code == 200
    assert listed_ids(response) == {c.pk for c in mine}
    assert b"Theirs 0" not in response.content


def test_superuser_sees_every_organisation(client, mine, theirs):
    client.force_login(make_superuser())
    response = client.get(CUSTOMERS)
    assert listed_ids(response) == {c.pk for c in mine + theirs}


def test_other_organisations_object_does_not_exist(staff_client, theirs):
    response = staff_client.get(f"{CUSTOMERS}{theirs[0].pk}/change/", follow=True)
    assert response.redirect_chain == [("/admin/", 302)]
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [f"customer with ID “{theirs[0].pk}” doesn’t exist. Perhaps it was deleted?"]


def test_other_organisations_object_cannot_be_changed_by_post(staff_client, theirs):
    target = theirs[0]
    response = staff_client.post(
        f"{CUSTOMERS}{target.pk}/change/", {"name": "Hijacked", "reference_id": "X"}
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.name == "Theirs 0"


def test_other_organisations_history_is_hidden(staff_client, other_org):
    customer = Customer.objects.create(
        organisation=other_org, reference_id="B-1", name="Secret", account_type=1
    )
    version = customer.history.get()
    response = staff_client.get(f"{CUSTOMERS}{customer.pk}/history/")
    assert response.status_code == 404
    assert b"Secret" not in response.content
    response = staff_client.get(f"{CUSTOMERS}{customer.pk}/history/{version.history_id}/")
    assert response.status_code == 404


@pytest.mark.parametrize("owner", ["org", "other_org"])
def test_history_of_a_deleted_connection_is_scoped(staff_client, request, owner):
    organisation = request.getfixturevalue(owner)
    company = CompanyFactory(organisation=organisation)
    person = PersonFactory(organisation=organisation)
    connection = ConnectionFactory(customer=company, connected_customer=person, role=Role.DIRECTOR)
    pk = connection.pk
    connection.delete()
    response = staff_client.get(f"/admin/relations/connection/{pk}/history/")
    if owner == "org":
        assert response.status_code == 200
        assert [r.history_type for r in response.context["page_obj"]] == ["-", "+"]
    else:
        assert response.status_code == 404


def test_staff_without_membership_sees_nothing(client, mine):
    client.force_login(make_staff(None, username="lost"))
    response = client.get("/admin/")
    assert response.status_code == 200
    assert response.context["app_list"] == []
    assert client.get(CUSTOMERS).status_code == 403
    assert client.get(f"{CUSTOMERS}{mine[0].pk}/change/").status_code in (302, 403)
    assert client.get(f"{CUSTOMERS}add/").status_code == 403


def test_foreign_key_choices_are_scoped(staff_client, org, other_org):
    company = CompanyFactory(organisation=org)
    outsider = PersonFactory(organisation=other_org)
    response = staff_client.post(
        "/admin/relations/connection/add/",
        {"customer": company.pk, "connected_customer": outsider.pk, "role": Role.DIRECTOR},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "connected_customer": [
            "Select a valid choice. That choice is not one of the available choices."
        ]
    }
    assert not Connection.objects.exists()


def test_autocomplete_is_scoped(staff_client, org, other_org):
    PersonFactory(organisation=org, name="Alice Mine", reference_id="A-1")
    PersonFactory(organisation=other_org, name="Alice Theirs", reference_id="B-1")
    response = staff_client.get(
        "/admin/autocomplete/",
        {
            "app_label": "relations",
            "model_name": "connection",
            "field_name": "connected_customer",
            "term": "alice",
        },
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["Alice Mine (A-1)"]


def test_organisation_is_not_a_choice_for_staff(staff_client):
    response = staff_client.get(f"{CUSTOMERS}add/")
    assert "organisation" not in response.context["adminform"].form.fields


def test_groups_exist_with_their_permissions():
    analyst = set(Group.objects.get(name=ANALYST).permissions.values_list("codename", flat=True))
    officer = set(
        Group.objects.get(name=COMPLIANCE_OFFICER).permissions.values_list("codename", flat=True)
    )
    assert {"view_customer", "view_connection", "view_customerfielddefinition"} <= analyst
    assert not {c for c in analyst if not c.startswith("view_")}
    assert {"change_customer", "add_connection", "delete_connection", APPROVE_CUSTOMER} <= officer
    assert "delete_customer" not in officer
    assert "change_user" not in officer


def test_analyst_reads_but_cannot_change(client, org, mine):
    client.force_login(make_staff(org, username="ana", group=ANALYST))
    assert client.get(CUSTOMERS).status_code == 200
    url = f"{CUSTOMERS}{mine[0].pk}/change/"
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert client.post(url, {"name": "Changed"}).status_code == 403
    mine[0].refresh_from_db()
    assert mine[0].name == "Mine 0"
