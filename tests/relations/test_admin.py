"""Connection admin: list and role filter, edits through relations.services, history."""

from decimal import Decimal

import pytest

from relations.models import Connection, Role
from tests.admin_support import make_staff
from tests.factories import CompanyFactory, ConnectionFactory, PersonFactory

pytestmark = pytest.mark.django_db

CONNECTIONS = "/admin/relations/connection/"


@pytest.fixture
def staff(org):
    return make_staff(org)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def company(org):
    return CompanyFactory(organisation=org, name="Target Ltd")


def test_list_filters_by_role_and_reads_well(staff_client, org, company):
    director = PersonFactory(organisation=org, name="Dee Rector")
    holders = [PersonFactory(organisation=org) for _ in range(3)]
    ConnectionFactory(customer=company, connected_customer=director, role=Role.DIRECTOR)
    for holder in holders:
        ConnectionFactory(
            customer=company, connected_customer=holder, ownership_percentage=Decimal("10")
        )
    response = staff_client.get(CONNECTIONS, {"role__exact": Role.DIRECTOR})
    assert [c.connected_customer for c in response.context["cl"].result_list] == [director]
    assert "Dee Rector is Director of Target Ltd" in response.content.decode()


def test_list_query_count_does_not_grow(staff_client, org, company, django_assert_max_num_queries):
    def add(n):
        for _ in range(n):
            ConnectionFactory(
                customer=company,
                connected_customer=PersonFactory(organisation=org),
                role=Role.DIRECTOR,
            )

    add(3)
    with django_assert_max_num_queries(12) as three:
        staff_client.get(CONNECTIONS)
    add(5)
    with django_assert_max_num_queries(len(three.captured_queries)):
        response = staff_client.get(CONNECTIONS)
    assert len(response.context["cl"].result_list) == 8


def test_change_goes_through_the_service(staff_client, staff, org, company):
    holder = PersonFactory(organisation=org)
    connection = ConnectionFactory(
        customer=company, connected_customer=holder, ownership_percentage=Decimal("10")
    )
    response = staff_client.post(
        f"{CONNECTIONS}{connection.pk}/change/",
        {"connected_customer": holder.pk, "role": Role.SHAREHOLDER, "ownership_percentage": "45"},
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.ownership_percentage == Decimal("45")
    latest = connection.history.latest()
    assert (latest.history_user, latest.history_channel, latest.history_type) == (
        staff,
        "admin",
        "~",
    )


def test_invariant_breach_is_a_form_error(staff_client, org, company):
    first, second = PersonFactory(organisation=org), PersonFactory(organisation=org)
    ConnectionFactory(customer=company, connected_customer=first, ownership_percentage=80)
    connection = ConnectionFactory(
        customer=company, connected_customer=second, ownership_percentage=10
    )
    response = staff_client.post(
        f"{CONNECTIONS}{connection.pk}/change/",
        {"connected_customer": second.pk, "role": Role.SHAREHOLDER, "ownership_percentage": "30"},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors and "100" in str(errors)
    connection.refresh_from_db()
    assert connection.ownership_percentage == Decimal("10")


def test_delete_goes_through_the_service(staff_client, staff, org, company):
    connection = ConnectionFactory(
        customer=company, connected_customer=PersonFactory(organisation=org), role=Role.DIRECTOR
    )
    response = staff_client.post(f"{CONNECTIONS}{connection.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Connection.objects.exists()
    deletion = Connection.history.get(history_type="-")
    assert (deletion.history_user, deletion.history_channel) == (staff, "admin")


def test_history_page(staff_client, org, company):
    connection = ConnectionFactory(
        customer=company, connected_customer=PersonFactory(organisation=org), role=Role.DIRECTOR
    )
    response = staff_client.get(f"{CONNECTIONS}{connection.pk}/history/")
    assert response.status_code == 200
    assert len(response.context["page_obj"]) == 1
