"""One change made through the API, the admin and an Excel import leaves the same rows,
review flags, history and announced events: the three channels share one write path
(services, or the bulk writer calling the services' helpers and the same event seam).

The change: an approved company is renamed, its authorised person removed, its
shareholder's percentage changed and a director added. Losing the authorised person
breaks a KYB constraint, so the company is flagged for review.

The admin saves inline rows one at a time, so it announces each connection change on
its own; the API and the import announce them together. What is compared is what was
announced, merged per channel.
"""

import json
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from customers.models import Customer
from kycregistry import events
from onboarding.services import customer_approve, customer_upsert_with_connections
from organisations.audit import Channel, audit_context
from organisations.models import Scope
from organisations.services import api_key_create
from relations.models import Connection, Role
from tests.admin_support import add_inline_row, change_form_data, make_staff
from tests.factories import OrganisationFactory
from tests.imports.sheets import upload_file, xlsx

pytestmark = pytest.mark.django_db

NEW_CONNECTS = [
    {"referenceId": "P-1", "role": "SHAREHOLDER", "ownershipPercentage": "70"},
    {"referenceId": "P-3", "role": "DIRECTOR"},
]


def build_world(slug: str):
    """An approved company COMP-1 held 60% by P-1, with P-2 as its authorised person."""
    organisation = OrganisationFactory(slug=slug, name=f"Bank {slug}")
    with audit_context(channel=Channel.COMMAND):
        for ref, name in (("P-1", "Ada One"), ("P-2", "Bo Two"), ("P-3", "Cy Three")):
            customer_upsert_with_connections(
                organisation=organisation,
                data={"referenceId": ref, "name": name, "accountTypeId": 1},
            )
        company = customer_upsert_with_connections(
            organisation=organisation,
            data={
                "referenceId": "COMP-1",
                "name": "Old Name Ltd",
                "accountTypeId": 2,
                "connects": [
                    {"referenceId": "P-1", "role": "SHAREHOLDER", "ownershipPercentage": "60"},
                    {"referenceId": "P-2", "role": "AUTHORIZED_PERSON"},
                ],
            },
        ).customer
        customer_approve(customer=company)
    return organisation, Customer.objects.get(pk=company.pk)


def change_through_api(organisation, company) -> None:
    _key, raw = api_key_create(
        organisation=organisation, scopes=[Scope.KYC_READ, Scope.KYC_CREATE], name="t"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = client.post(
        "/api/v1/customers",
        {
            "referenceId": "COMP-1",
            "name": "New Name Ltd",
            "accountTypeId": 2,
            "connects": NEW_CONNECTS,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()


def change_through_admin(organisation, company, client) -> None:
    client.force_login(make_staff(organisation, username=f"staff-{organisation.slug}"))
    url = f"/admin/customers/customer/{company.pk}/change/"
    data = change_form_data(client.get(url))
    data["name"] = "New Name Ltd"
    prefix = "connections"
    rows = int(data[f"{prefix}-TOTAL_FORMS"])
    for index in range(rows):
        pk = int(data[f"{prefix}-{index}-id"])
        role = Connection.objects.get(pk=pk).role
        if role == Role.AUTHORIZED_PERSON:
            data[f"{prefix}-{index}-DELETE"] = "on"
        else:
            data[f"{prefix}-{index}-ownership_percentage"] = "70"
    holder = Customer.objects.get(organisation=organisation, reference_id="P-3")
    add_inline_row(data, prefix, connected_customer=holder.pk, role=Role.DIRECTOR)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors


def change_through_import(organisation, company) -> None:
    _key, raw = api_key_create(
        organisation=organisation, scopes=[Scope.KYC_READ, Scope.KYC_CREATE], name="t"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    content = xlsx([["New Name Ltd", "COMP-1", 2, json.dumps(NEW_CONNECTS)]])
    response = client.post(
        "/api/v1/customers/bulk-upload", {"file": upload_file(content)}, format="multipart"
    )
    assert response.status_code == 202, response.json()
    job = client.get(f"/api/v1/customers/bulk-upload/{response.json()['data']['id']}").json()
    assert (job["data"]["status"], job["data"]["updatedCount"]) == ("completed", 1), job


def outcome(organisation, company, announced_events):
    """What the change left, with nothing that names the channel, an id or a time."""
    refs = dict(
        Customer.objects.filter(organisation=organisation).values_list("id", "reference_id")
    )
    row = Customer.objects.get(pk=company.pk)
    connections = sorted(
        (refs[c.connected_customer_id], c.role, c.ownership_percentage)
        for c in Connection.objects.filter(customer=company)
    )
    customer_history = [
        (h.history_type, h.name, h.needs_review, h.review_reason)
        for h in row.history.order_by("history_id")
    ]
    connection_history = sorted(
        (h.history_type, refs[h.connected_customer_id], h.role, h.ownership_percentage)
        for h in Connection.history.filter(customer_id=company.pk)
    )
    changed: dict[str, set[str]] = {}
    added, updated, removed = set(), set(), set()
    by_id = {c.pk: c for c in Connection.objects.filter(customer=company)}
    for event in announced_events:
        assert event.organisation_id == organisation.pk
        if isinstance(event, events.CustomersWritten):
            for pk, names in event.changed_fields.items():
                changed.setdefault(refs[pk], set()).update(names)
        else:
            added |= {(refs[by_id[pk].connected_customer_id], by_id[pk].role) for pk in event.added}
            updated |= {
                (refs[by_id[pk].connected_customer_id], by_id[pk].role) for pk in event.updated
            }
            removed |= {(refs[c.connected_customer_id], c.role) for c in event.removed}
    return {
        "customer": (row.name, row.onboarding_status, row.needs_review, row.review_reason),
        "search_text": row.search_text.replace(row.client_number, "<client number>"),
        "connections": connections,
        "customer_history": customer_history,
        "connection_history": connection_history,
        "changed_fields": changed,
        "connections_announced": (added, updated, removed),
    }


def test_api_admin_and_import_leave_the_same_result(client, announced, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    results = {}
    channels = {}
    for name, change in (
        ("api", change_through_api),
        ("admin", lambda org, company: change_through_admin(org, company, client)),
        ("import", change_through_import),
    ):
        organisation, company = build_world(name)
        announced.clear()
        change(organisation, company)
        results[name] = outcome(organisation, company, list(announced))
        channels[name] = {event.channel for event in announced}
        last = Customer.objects.get(pk=company.pk).history.order_by("history_id")
        assert {h.history_channel for h in last[len(last) - 2 :]} == {name}

    assert results["api"] == results["admin"] == results["import"]
    assert channels == {"api": {"api"}, "admin": {"admin"}, "import": {"import"}}

    expected = results["api"]
    assert expected["customer"] == (
        "New Name Ltd",
        "APPROVED",
        True,
        "KYB constraints no longer hold: min_authorized_persons: at least 1 "
        "AUTHORIZED_PERSON required (found 0)",
    )
    assert expected["connections"] == [
        ("P-1", "SHAREHOLDER", Decimal("70.0000")),
        ("P-3", "DIRECTOR", None),
    ]
    assert expected["changed_fields"] == {"COMP-1": {"name", "needs_review", "review_reason"}}
    assert expected["connections_announced"] == (
        {("P-3", "DIRECTOR")},
        {("P-1", "SHAREHOLDER")},
        {("P-2", "AUTHORIZED_PERSON")},
    )
    assert [entry[0] for entry in expected["customer_history"]][-2:] == ["~", "~"]
