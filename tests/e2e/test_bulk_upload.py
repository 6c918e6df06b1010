"""Browser: upload a filled template in the admin, watch the bar reach 100%, download
the report."""

import io

from openpyxl import load_workbook
from playwright.sync_api import expect

from customers.models import Customer
from tests.imports.sheets import xlsx


def test_upload_progress_and_report(admin_page, e2e_org, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    path = tmp_path / "customers.xlsx"
    path.write_bytes(
        xlsx(
            [
                ["Acme Ltd", "E2E-C1", 2, [{"referenceId": "E2E-P1", "role": "DIRECTOR"}]],
                ["Jane Doe", "E2E-P1", 1, None],
                ["Broken", "E2E-X", 1, "[{"],
            ]
        )
    )
    page = admin_page
    page.goto(f"{page.base_url}/admin/customers/customer/")
    page.click("a.bulk-upload-link")
    expect(page.locator("h1")).to_have_text("Bulk upload")
    page.set_input_files("#id_file", str(path))
    page.click("input[name=_upload]")

    progress = page.locator("#upload-progress")
    expect(progress).to_have_attribute("data-status", "completed")
    expect(page.locator("#upload-bar")).to_have_attribute("value", "100")
    expect(page.locator(".upload-percent")).to_have_text("100%")
    expect(page.locator(".created-count")).to_have_text("2")
    expect(page.locator(".skipped-count")).to_have_text("1")
    expect(page.locator(".row-errors")).to_contain_text("Malformed JSON")

    with page.expect_download() as caught:
        page.click("a.report-link")
    report = load_workbook(io.BytesIO(caught.value.path().read_bytes())).worksheets[0]
    outcomes = [row[-2].value for row in report.iter_rows(min_row=2)]
    assert outcomes == ["created", "created", "skipped"]
    assert Customer.objects.filter(organisation=e2e_org).count() == 2


def test_progress_page_polls_until_completed(admin_page, e2e_org):
    """A queued job: the partial polls; once the job completes the bar fills."""
    from imports.models import BulkUpload, UploadStatus

    upload = BulkUpload.objects.create(
        organisation=e2e_org, file_name="slow.xlsx", status=UploadStatus.RUNNING, total_rows=4
    )
    page = admin_page
    page.goto(f"{page.base_url}/admin/customers/customer/bulk-upload/{upload.pk}/")
    expect(page.locator(".upload-percent")).to_have_text("0%")
    BulkUpload.objects.filter(pk=upload.pk).update(processed_rows=2)
    expect(page.locator(".upload-percent")).to_have_text("50%")
    BulkUpload.objects.filter(pk=upload.pk).update(
        status=UploadStatus.COMPLETED, processed_rows=4, created_count=4
    )
    expect(page.locator("#upload-progress")).to_have_attribute("data-status", "completed")
    expect(page.locator(".upload-percent")).to_have_text("100%")
