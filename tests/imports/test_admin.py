"""The admin's bulk upload pages: upload form, live progress partial, report, tenancy."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from customers.models import Customer
from imports.models import BulkUpload, UploadStatus
from organisations.groups import ANALYST
from tests.admin_support import make_staff, make_superuser
from tests.imports.sheets import upload_file, xlsx

pytestmark = pytest.mark.django_db

ROWS = [["Jane Doe", "P-1", 1, None], ["Bad", "P-2", 7, None]]


@pytest.fixture
def staff_client(client, org):
    client.force_login(make_staff(org))
    return client


def upload_url() -> str:
    return reverse("admin:customers-bulk-upload")


def test_urls_live_under_the_customer_admin():
    assert upload_url() == "/admin/customers/customer/bulk-upload/"
    assert reverse("admin:customers-download-template") == (
        "/admin/customers/customer/download-template/"
    )


def test_upload_page_and_changelist_button(staff_client):
    page = staff_client.get(upload_url())
    assert page.status_code == 200
    assert b'enctype="multipart/form-data"' in page.content
    assert b'name="organisation"' not in page.content  # staff upload into their own
    changelist = staff_client.get("/admin/customers/customer/")
    assert upload_url().encode() in changelist.content


def test_upload_redirects_to_progress_and_imports(staff_client, org):
    response = staff_client.post(upload_url(), {"file": upload_file(xlsx(ROWS))})
    upload = BulkUpload.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:customers-bulk-upload-status", args=[upload.pk])
    assert upload.organisation == org
    assert upload.uploaded_by.username == "staff"
    customer = Customer.objects.get(organisation=org, reference_id="P-1")
    record = customer.history.get()
    assert (record.history_channel, record.history_user.username) == ("import", "staff")

    page = staff_client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-status="completed"' in html
    assert "100%" in html
    assert "hx-trigger" not in html  # finished: no more polling
    assert "Must be 1 (Person) or 2 (Company)." in html
    assert reverse("admin:customers-bulk-upload-report", args=[upload.pk]) in html
    assert "django_htmx/htmx-2.min.js" in html
    assert "<script>" not in html  # CSP: no inline script


def test_progress_partial_polls_while_running(staff_client, org):
    upload = BulkUpload.objects.create(
        organisation=org,
        file_name="big.xlsx",
        status=UploadStatus.RUNNING,
        total_rows=200,
        processed_rows=50,
    )
    url = reverse("admin:customers-bulk-upload-progress", args=[upload.pk])
    html = staff_client.get(url).content.decode()
    assert html.lstrip().startswith('<div id="upload-progress" data-status="running"')
    assert 'hx-get="' + url + '"' in html
    assert 'hx-trigger="every 1s"' in html
    assert '<progress id="upload-bar" max="100" value="25">' in html
    assert "25%" in html
    assert "50 of 200 rows" in html

    BulkUpload.objects.filter(pk=upload.pk).update(status=UploadStatus.FAILED, message="Boom")
    html = staff_client.get(url).content.decode()
    assert "hx-get" not in html and "Boom" in html


def test_refused_file_is_shown_on_the_form(staff_client):
    response = staff_client.post(upload_url(), {"file": upload_file(b"a,b\n1,2\n", "x.xlsx")})
    assert response.status_code == 200
    assert "The file is not an .xlsx workbook" in response.content.decode()
    assert not BulkUpload.objects.exists()


def test_report_download(staff_client):
    staff_client.post(upload_url(), {"file": upload_file(xlsx(ROWS))})
    upload = BulkUpload.objects.get()
    response = staff_client.get(reverse("admin:customers-bulk-upload-report", args=[upload.pk]))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert [c.value for c in sheet[3]][-2:] == [
        "skipped",
        "accountTypeId: Must be 1 (Person) or 2 (Company).",
    ]


def test_template_download(staff_client):
    response = staff_client.get(reverse("admin:customers-download-template"))
    assert response.status_code == 200
    assert load_workbook(io.BytesIO(response.content)).sheetnames == ["Customers", "Instructions"]


def test_other_organisations_jobs_are_404(client, org, other_org):
    upload = BulkUpload.objects.create(organisation=org, file_name="a.xlsx")
    client.force_login(make_staff(other_org, username="outsider"))
    for name in (
        "customers-bulk-upload-status",
        "customers-bulk-upload-progress",
        "customers-bulk-upload-report",
    ):
        assert client.get(reverse(f"admin:{name}", args=[upload.pk])).status_code == 404
    assert client.get("/admin/imports/bulkupload/").content.count(b"a.xlsx") == 0
    assert client.get(f"/admin/imports/bulkupload/{upload.pk}/change/").status_code == 302


def test_analyst_may_watch_but_not_upload(client, org):
    upload = BulkUpload.objects.create(organisation=org, file_name="a.xlsx")
    client.force_login(make_staff(org, username="analyst", group=ANALYST))
    assert client.get(upload_url()).status_code == 403
    url = reverse("admin:customers-bulk-upload-status", args=[upload.pk])
    assert client.get(url).status_code == 200


def test_jobs_are_listed_in_the_admin(staff_client, org, other_org):
    BulkUpload.objects.create(organisation=org, file_name="mine.xlsx")
    BulkUpload.objects.create(organisation=other_org, file_name="theirs.xlsx")
    page = staff_client.get("/admin/imports/bulkupload/")
    assert page.status_code == 200
    assert b"mine.xlsx" in page.content and b"theirs.xlsx" not in page.content


def test_superuser_chooses_the_organisation(client, org):
    client.force_login(make_superuser())
    response = client.post(
        upload_url(), {"file": upload_file(xlsx(ROWS)), "organisation": str(org.pk)}
    )
    assert response.status_code == 302
    assert BulkUpload.objects.get().organisation == org
