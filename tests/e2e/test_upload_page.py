"""Browser, 1,280×800: the bulk upload page fits the window, its drop zone takes a
file (chosen, or dropped onto it) and uploads it; without JS the plain form works; a
queued job reads "Waiting to start…"; a finished one links to its customers."""

import base64
import re

import pytest
from playwright.sync_api import expect

from customers.models import Customer
from imports.models import BulkUpload
from tests.admin_support import PASSWORD, make_staff
from tests.imports.sheets import xlsx

VIEWPORT = {"width": 1280, "height": 800}
ROWS = [["Jane Doe", "DZ-P1", 1, None], ["Acme Ltd", "DZ-C1", 2, None]]


def scrolls_sideways(page) -> bool:  # type: ignore[no-untyped-def]
    return page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth")


@pytest.fixture
def upload_page(admin_page, tmp_path, settings):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    admin_page.set_viewport_size(VIEWPORT)
    admin_page.goto(f"{admin_page.base_url}/admin/customers/customer/bulk-upload/")
    return admin_page


def test_the_page_fits_and_a_chosen_file_uploads(upload_page, e2e_org, tmp_path):
    page = upload_page
    zone = page.locator("#drop-zone")
    expect(zone).to_have_class("drop-zone is-enhanced")
    expect(zone).to_contain_text("Drag the file here, or click to choose it.")
    assert not scrolls_sideways(page)
    box = zone.bounding_box()
    assert box is not None and box["x"] + box["width"] <= VIEWPORT["width"]

    path = tmp_path / "customers.xlsx"
    path.write_bytes(xlsx(ROWS))
    page.set_input_files("#id_file", str(path))
    expect(page.locator("#drop-zone-file")).to_have_text("Selected: customers.xlsx")
    expect(zone).to_have_class("drop-zone is-enhanced has-file")
    page.click("input[name=_upload]")

    expect(page.locator("#upload-progress")).to_have_attribute("data-status", "completed")
    expect(page.locator(".created-count")).to_have_text("2")
    assert not scrolls_sideways(page)
    assert Customer.objects.filter(organisation=e2e_org).count() == 2

    # The finished job links to the customers it created.
    page.click("a.created-customers-link")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    expect(page.locator("#changelist-filter")).to_contain_text("Created by “customers.xlsx”")


def drop(page, name: str, content: bytes) -> None:  # type: ignore[no-untyped-def]
    """Drop a file onto the zone as a person dragging it from their desktop would."""
    data = page.evaluate_handle(
        """([name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name));
            return transfer;
        }""",
        [name, base64.b64encode(content).decode()],
    )
    page.dispatch_event("#drop-zone", "dragenter", {"dataTransfer": data})
    expect(page.locator("#drop-zone")).to_have_class(re.compile(r"\bis-over\b"))
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": data})


def test_a_dropped_file_uploads_and_a_wrong_one_is_refused(upload_page, e2e_org):
    page = upload_page
    drop(page, "notes.csv", b"a,b\n")
    expect(page.locator("#drop-zone-file")).to_have_text("“notes.csv” is not an .xlsx file.")
    assert page.evaluate("() => document.querySelector('#id_file').files.length") == 0

    drop(page, "dropped.xlsx", xlsx(ROWS))
    expect(page.locator("#drop-zone-file")).to_have_text("Selected: dropped.xlsx")
    assert page.evaluate("() => document.querySelector('#id_file').files[0].name") == (
        "dropped.xlsx"
    )
    page.click("input[name=_upload]")
    expect(page.locator("#upload-progress")).to_have_attribute("data-status", "completed")
    expect(page.locator(".created-count")).to_have_text("2")
    assert BulkUpload.objects.get().file_name == "dropped.xlsx"


def test_without_javascript_the_plain_form_uploads(
    browser, live_server, e2e_org, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    user = make_staff(e2e_org, username="nojs")
    context = browser.new_context(java_script_enabled=False, viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/customers/customer/bulk-upload/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("h1")).to_have_text("Bulk upload")
    expect(page.locator("#drop-zone")).to_have_class("drop-zone")  # not enhanced
    expect(page.locator("#id_file")).to_be_visible()
    assert not scrolls_sideways(page)
    path = tmp_path / "plain.xlsx"
    path.write_bytes(xlsx(ROWS))
    page.set_input_files("#id_file", str(path))
    page.click("input[name=_upload]")
    expect(page.locator("#upload-progress")).to_have_attribute("data-status", "completed")
    expect(page.locator(".created-count")).to_have_text("2")
    context.close()


def test_a_queued_job_reads_waiting_to_start(admin_page, e2e_org):
    upload = BulkUpload.objects.create(organisation=e2e_org, file_name="later.xlsx")
    page = admin_page
    page.set_viewport_size(VIEWPORT)
    page.goto(f"{page.base_url}/admin/customers/customer/bulk-upload/{upload.pk}/")
    expect(page.locator(".upload-state strong")).to_have_text("Waiting to start…")
    expect(page.locator(".upload-percent")).to_have_text("Waiting to start…")
    expect(page.locator("#upload-progress")).not_to_contain_text("worker")
    expect(page.locator("#content")).not_to_contain_text("README")
    assert not scrolls_sideways(page)
    BulkUpload.objects.filter(pk=upload.pk).update(status="running", total_rows=4, processed_rows=1)
    expect(page.locator(".upload-percent")).to_have_text("25%")  # the partial polls on
    expect(page.locator(".upload-state strong")).to_have_text("Importing")
