"""A finished upload links to the customers it created and updated: the customer list
filtered by `?bulk_upload=<id>-created|-updated`, exactly those rows."""

import pytest
from django.urls import reverse

from imports.models import BulkUpload
from imports.selectors import bulk_upload_customers, change_reason
from tests.admin_support import make_staff, make_superuser
from tests.imports.sheets import upload_file, xlsx

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/customers/customer/"
FIRST = [
    ["Anna Person", "R-A", 1, None],
    ["Bolt AS", "R-B", 2, [{"referenceId": "R-A", "role": "DIRECTOR"}]],
    ["Carl Person", "R-C", 1, None],
]
SECOND = [
    ["Anna Renamed", "R-A", 1, None],  # updated: a field
    ["Bolt AS", "R-B", 2, [{"referenceId": "R-C", "role": "DIRECTOR"}]],  # updated: connects
    ["Carl Person", "R-C", 1, None],  # unchanged
    ["Dora Person", "R-D", 1, None],  # created
    ["Bad", "R-E", 7, None],  # skipped
]


@pytest.fixture
def staff_client(client, org):
    client.force_login(make_staff(org))
    return client


def upload(client, rows: list[list[object]]) -> BulkUpload:
    content = upload_file(xlsx(rows))
    response = client.post(reverse("admin:customers-bulk-upload"), {"file": content})
    assert response.status_code == 302
    return BulkUpload.objects.order_by("-pk").first()


def listed(client, value: str) -> list[str]:
    response = client.get(CHANGELIST, {"bulk_upload": value})
    assert response.status_code == 200
    return sorted(c.reference_id for c in response.context["cl"].result_list)


def test_the_links_list_exactly_the_created_and_updated_customers(staff_client):
    first = upload(staff_client, FIRST)
    second = upload(staff_client, SECOND)
    assert (second.created_count, second.updated_count, second.unchanged_count) == (1, 2, 1)
    assert second.skipped_count == 1

    assert listed(staff_client, f"{first.pk}-created") == ["R-A", "R-B", "R-C"]
    assert listed(staff_client, f"{first.pk}-updated") == []
    assert listed(staff_client, f"{second.pk}-created") == ["R-D"]
    assert listed(staff_client, f"{second.pk}-updated") == ["R-A", "R-B"]
    for job in (first, second):
        assert bulk_upload_customers(upload=job, outcome="created").count() == job.created_count
        assert bulk_upload_customers(upload=job, outcome="updated").count() == job.updated_count

    html = staff_client.get(CHANGELIST, {"bulk_upload": f"{second.pk}-updated"}).content.decode()
    assert f"Updated by “customers.xlsx” (#{second.pk})" in html  # the filter in use

    page = staff_client.get(reverse("admin:customers-bulk-upload-status", args=[second.pk]))
    html = page.content.decode()
    assert f'href="{CHANGELIST}?bulk_upload={second.pk}-created" class="created-link"' in html
    assert f'href="{CHANGELIST}?bulk_upload={second.pk}-updated" class="updated-link"' in html
    assert "Customers created (1)</a>" in html and "Customers updated (2)</a>" in html


def test_the_writer_stamps_the_reason_the_links_read(staff_client, org):
    job = upload(staff_client, FIRST[:1])
    customer = org.customers.get(reference_id="R-A")
    assert customer.history.get().history_change_reason == change_reason(job.pk)


def test_nothing_to_link_when_nothing_was_created(staff_client):
    upload(staff_client, FIRST)
    again = upload(staff_client, FIRST)
    html = staff_client.get(
        reverse("admin:customers-bulk-upload-status", args=[again.pk])
    ).content.decode()
    assert again.unchanged_count == 3
    assert "bulk_upload=" not in html
    assert '<td class="created-count">0</td>' in html


def test_another_organisations_upload_or_a_bad_value_lists_no_one(client, org, other_org):
    client.force_login(make_staff(org))
    job = upload(client, FIRST)
    client.force_login(make_staff(other_org, username="outsider"))
    assert listed(client, f"{job.pk}-created") == []
    html = client.get(CHANGELIST, {"bulk_upload": f"{job.pk}-created"}).content.decode()
    assert "No such completed upload" in html
    client.force_login(make_staff(org, username="colleague"))
    for value in (
        "x",
        f"{job.pk}",
        f"{job.pk}-deleted",
        "-created",
        f"{job.pk + 99}-created",
        "\u00b9-created",
        "\u0661-created",
    ):
        assert listed(client, value) == []
    assert listed(client, f"{job.pk}-created") == ["R-A", "R-B", "R-C"]


def test_a_superuser_sees_any_organisations_upload(client, org):
    client.force_login(make_staff(org))
    job = upload(client, FIRST)
    client.force_login(make_superuser())
    assert listed(client, f"{job.pk}-created") == ["R-A", "R-B", "R-C"]


def test_the_filter_shows_in_the_sidebar_only_while_in_use(staff_client):
    job = upload(staff_client, FIRST)
    assert 'data-filter-title="bulk upload"' not in staff_client.get(CHANGELIST).content.decode()
    html = staff_client.get(CHANGELIST, {"bulk_upload": f"{job.pk}-created"}).content.decode()
    assert 'data-filter-title="bulk upload"' in html
    label = f"Created by “customers.xlsx” (#{job.pk})"
    assert f'<a href="?bulk_upload={job.pk}-created">{label}</a>' in html
