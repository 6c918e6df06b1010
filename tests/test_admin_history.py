"""History pages in words: labels not codes, "—" not "None", the actor as a link, the
channel in words, "field: old → new", and a customer's connections' changes."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from customers.models import OnboardingStatus
from customers.services import customer_deactivate, customer_set_onboarding_status
from organisations.audit import Channel, audit_context
from organisations.models import Membership
from organisations.services import api_key_create
from relations.models import Role
from relations.services import connection_save
from tests.admin_support import make_staff, make_superuser
from tests.factories import CompanyFactory, ConnectionFactory, PersonFactory

pytestmark = pytest.mark.django_db


def history_url(customer) -> str:
    return reverse("admin:customers_customer_history", args=[customer.pk])


def text_of(response) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def officer(client, org):
    user = make_staff(org, username="olivia")
    client.force_login(user)
    client.user = user
    return client


def test_change_shows_field_old_and_new_in_words_with_the_actor_linked(officer, org):
    customer = PersonFactory(organisation=org, name="Jane Doe")
    with audit_context(channel=Channel.ADMIN, user=officer.user):
        customer_set_onboarding_status(customer=customer, status=OnboardingStatus.REJECTED)
    response = officer.get(history_url(customer))
    assert response.status_code == 200
    text = text_of(response)
    assert "Onboarding status: PENDING → REJECTED" not in text
    rows = response.context["history_rows"]
    latest = rows[0]
    assert latest.action == "Changed"
    assert latest.channel == "Admin"
    assert [(c.field, c.old, c.new) for c in latest.changes] == [
        ("Onboarding status", "Pending", "Rejected")
    ]
    assert "Onboarding status: Pending → Rejected" in text
    # An officer may not open user pages: the name, not a link to a 403.
    assert (latest.actor.label, latest.actor.url) == ("olivia", None)
    # Column names are labels, not codes; nothing reads "None".
    assert response.context["history_columns"] == ["Status", "Onboarding status"]
    assert "HISTORY_API_KEY" not in text and "ONBOARDING_STATUS" not in text
    assert "None" not in text
    officer.force_login(make_superuser())
    response = officer.get(history_url(customer))
    user_url = reverse("admin:auth_user_change", args=[officer.user.pk])
    assert f'<a href="{user_url}">olivia</a>' in response.content.decode()


def test_api_key_actor_links_to_its_key_page_and_channel_reads_api(officer, org):
    customer = PersonFactory(organisation=org)
    key, _ = api_key_create(organisation=org, scopes=["kyc:read"], name="CRM sync")
    with audit_context(channel=Channel.API, api_key=key):
        customer_deactivate(customer=customer)
    response = officer.get(history_url(customer))
    latest = response.context["history_rows"][0]
    assert (latest.actor.label, latest.channel) == ("API key CRM sync", "API")
    # Officers do not manage API keys: no link to a page that would refuse them.
    assert not officer.user.has_perm("organisations.view_apikey")
    assert latest.actor.url is None
    key_url = reverse("admin:organisations_apikey_change", args=[key.pk])
    officer.force_login(make_superuser())
    latest = officer.get(history_url(customer)).context["history_rows"][0]
    assert latest.actor.url == key_url
    assert [(c.field, c.old, c.new) for c in latest.changes] == [("Status", "Active", "Inactive")]


def test_creation_by_the_system_reads_system_and_empty_values_as_dash(officer, org):
    customer = PersonFactory(organisation=org)
    response = officer.get(history_url(customer))
    (row,) = response.context["history_rows"]
    assert (row.action, row.actor.label, row.actor.url, row.channel) == (
        "Created",
        "System",
        None,
        "System",
    )
    assert row.columns == ["Active", "Pending"]


def test_customer_history_lists_its_connections_changes_both_ways(officer, org):
    company = CompanyFactory(organisation=org, name="Acme Holding")
    person = PersonFactory(organisation=org, name="Jane Doe")
    with audit_context(channel=Channel.ADMIN, user=officer.user):
        connection = ConnectionFactory(
            customer=company,
            connected_customer=person,
            role=Role.SHAREHOLDER,
            ownership_percentage=Decimal("60.0000"),
        )
        connection.ownership_percentage = Decimal("75")
        connection_save(connection=connection)
    for customer in (company, person):
        response = officer.get(history_url(customer))
        related = [row for row in response.context["history_rows"] if row.related]
        assert [row.action for row in related] == ["Changed", "Created"]
        assert related[0].subject == "Connection: Jane Doe — Shareholder 75% of Acme Holding"
        assert [(c.field, c.old, c.new) for c in related[0].changes] == [
            ("Ownership percentage", "60", "75")
        ]
        assert "Ownership percentage: 60 → 75" in text_of(response)
        assert "and 2 changes of related records on this page" in text_of(response)
        # Connection rows leave the customer's own columns empty: no cell shifts.
        html = response.content.decode()
        table = html[html.index('<table id="change-history"') : html.index("</table>")]
        head, body = table.split("<tbody>")
        cells = [row.count("<td") for row in body.split("<tr")[1:]]
        assert cells == [head.count("<th ")] * 3


def test_connections_of_another_organisation_never_show(officer, org, other_org):
    mine = CompanyFactory(organisation=org)
    theirs = PersonFactory(organisation=other_org, name="Hidden Holder")
    # A corrupt row across tenants must not leak through the customer's history.
    ConnectionFactory(customer=mine, connected_customer=theirs, organisation=other_org)
    response = officer.get(history_url(mine))
    assert "Hidden Holder" not in response.content.decode()
    assert not [row for row in response.context["history_rows"] if row.related]


def test_another_organisations_customer_history_is_404(officer, other_org):
    theirs = PersonFactory(organisation=other_org)
    assert officer.get(history_url(theirs)).status_code == 404


def test_connection_rows_fall_on_the_page_of_their_period_once(officer, org, monkeypatch):
    from customers.admin import CustomerAdmin

    monkeypatch.setattr(CustomerAdmin, "history_list_per_page", 2)
    company = CompanyFactory(organisation=org)
    people = [PersonFactory(organisation=org, name=f"Holder {i}") for i in range(3)]
    # Alternate: customer change, connection created, customer change, ...
    for i, person in enumerate(people):
        company.external_id = f"X-{i}"
        company.save()
        ConnectionFactory(customer=company, connected_customer=person, role=Role.SHAREHOLDER)
    # Own records, newest first, created; 2 per page.
    pages = [officer.get(history_url(company), {"p": n}).context["history_rows"] for n in (1, 2)]
    subjects = [[row.subject.split(" — ")[0] for row in rows if row.related] for rows in pages]
    assert subjects == [["Connection: Holder 2", "Connection: Holder 1"], ["Connection: Holder 0"]]
    own = [[row.related for row in rows].count(False) for rows in pages]
    assert own == [2, 2]


def test_connection_rows_cost_the_same_queries_for_more_connections(officer, org):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    def queries_with(holders: int) -> int:
        company = CompanyFactory(organisation=org)
        for _ in range(holders):
            row = ConnectionFactory(
                customer=company,
                connected_customer=PersonFactory(organisation=org),
                ownership_percentage=Decimal("5"),
            )
            row.ownership_percentage = Decimal("10")
            connection_save(connection=row)
        with CaptureQueriesContext(db) as queries:
            response = officer.get(history_url(company))
        related = [row for row in response.context["history_rows"] if row.related]
        assert len(related) == 2 * holders
        assert all(row.changes for row in related if row.action == "Changed")
        return len(queries)

    assert queries_with(2) == queries_with(6)


def test_organisation_and_membership_histories_read_in_words_too(client, org):
    root = make_superuser()
    client.force_login(root)
    with audit_context(channel=Channel.ADMIN, user=root):
        org.ownership_threshold = Decimal("10")
        org.save()
    membership = Membership.objects.get(user=make_staff(org, username="olivia"))
    for url in (
        reverse("admin:organisations_organisation_history", args=[org.pk]),
        reverse("admin:organisations_membership_history", args=[membership.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "history_rows" in response.context, url
        assert " style=" not in html and "None" not in text_of(response), url
    rows = client.get(reverse("admin:organisations_organisation_history", args=[org.pk])).context[
        "history_rows"
    ]
    assert rows[0].channel == "Admin"
    assert [(c.field, c.new) for c in rows[0].changes] == [("Ownership threshold", "10")]
