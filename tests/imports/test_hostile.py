"""Hostile files: refused at upload when that is cheap, else the job fails; the
process that runs the job survives every one of them."""

import io
import re
import zipfile

import pytest

from customers.models import Customer
from imports.guards import NOT_XLSX, UploadRejected, scan_sheet
from imports.reader import read_rows
from tests.imports.sheets import rewrite_part, sheet_xml, upload_file, xlsx

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/bulk-upload"


def post(client, content: bytes, name: str = "customers.xlsx"):  # type: ignore[no-untyped-def]
    return client.post(URL, {"file": upload_file(content, name)}, format="multipart")


def refused(client, content: bytes, status: int = 400) -> str:  # type: ignore[no-untyped-def]
    response = post(client, content)
    assert response.status_code == status, response.json()
    body = response.json()
    assert body["statusCode"] == status
    return body["message"]


def failed_job(client, content: bytes) -> str:  # type: ignore[no-untyped-def]
    response = post(client, content)
    assert response.status_code == 202, response.json()
    data = response.json()["data"]
    assert data["status"] == "failed"
    return data["message"]


def far_cell(content: bytes, with_dimension: bool) -> bytes:
    xml = sheet_xml(content).decode()
    xml = xml.replace(
        "</sheetData>",
        '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
    )
    if with_dimension:
        xml = re.sub(r'<dimension ref="[^"]*" ?/>', '<dimension ref="A1:XFD1048576"/>', xml)
    else:
        xml = re.sub(r'<dimension ref="[^"]*" ?/>', "", xml)
    return rewrite_part(content, "xl/worksheets/sheet1.xml", xml.encode())


VALID = [["Jane Doe", "P-1", 1, None]]


def test_csv_renamed_to_xlsx(api):
    assert refused(api, b"name,referenceId,accountTypeId\nJane,P-1,1\n") == NOT_XLSX
    assert NOT_XLSX == "The file is not an .xlsx workbook"


def test_zip_that_is_not_a_workbook(api):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert refused(api, out.getvalue()) == NOT_XLSX


def test_too_large_is_413(api, settings):
    settings.KYC_UPLOAD_MAX_BYTES = 1000
    content = xlsx(VALID)
    assert refused(api, content, 413) == (
        f"The file is too large: {len(content)} bytes (at most 1000)"
    )


def test_zip_bomb_ratio(api):
    bomb = rewrite_part(xlsx(VALID), "xl/media/filler.bin", b"\0" * (20 * 1024 * 1024))
    info = zipfile.ZipFile(io.BytesIO(bomb)).getinfo("xl/media/filler.bin")
    ratio = round(info.file_size / info.compress_size)
    assert ratio > 1000
    assert refused(api, bomb) == (
        f"The zip entry xl/media/filler.bin expands {ratio} times (at most 200); it looks "
        "like a zip bomb"
    )


def test_zip_bomb_total_size(api, settings):
    settings.KYC_UPLOAD_MAX_UNCOMPRESSED_BYTES = 5000
    content = xlsx(VALID)
    total = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(content)).infolist())
    assert refused(api, content) == (
        f"The file expands to {total} bytes (at most 5000); it looks like a zip bomb"
    )


def test_zip_bomb_entry_count(api):
    content = xlsx(VALID)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
        for n in range(1000):
            target.writestr(f"xl/junk/{n}.xml", "")
    assert refused(api, out.getvalue()) == (
        "The file has 1009 zip entries (at most 1000); it looks like a zip bomb"
    )


def _strings(count: int) -> bytes:
    strings = "".join(f"<si><t>{n:x}{n * 7919:x}</t></si>" for n in range(count))
    return (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main" count="{count}" uniqueCount="{count}">{strings}</sst>'
    ).encode()


def test_huge_shared_strings(api, settings):
    settings.KYC_UPLOAD_MAX_SHARED_STRINGS_BYTES = 1024 * 1024
    part = _strings(100_000)
    content = rewrite_part(xlsx(VALID), "xl/sharedStrings.xml", part)
    assert refused(api, content) == (
        f"The shared strings part is too large: {len(part)} bytes uncompressed (at most 1048576)"
    )


def test_far_cell_reference_in_the_dimension_is_refused_at_upload(api):
    assert refused(api, far_cell(xlsx(VALID), with_dimension=True)) == (
        "The sheet reaches row 1048576 (XFD1048576); at most 1000000 data rows are allowed"
    )


def test_far_cell_reference_found_in_the_sheet_fails_the_job(api, org):
    content = far_cell(xlsx(VALID), with_dimension=False)
    assert failed_job(api, content) == (
        "The sheet reaches row 1048576; at most 1000000 data rows are allowed"
    )
    assert not Customer.objects.filter(organisation=org).exists()


def test_far_column_only(api, settings):
    xml = sheet_xml(xlsx(VALID)).decode()
    xml = re.sub(r'<dimension ref="[^"]*" ?/>', "", xml)
    xml = (
        xml.replace('<c r="D2"', '<c r="XFD2"')
        if '<c r="D2"' in xml
        else xml.replace(
            "</row></sheetData>",
            '<c r="XFD2" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
        )
    )
    content = rewrite_part(xlsx(VALID), "xl/worksheets/sheet1.xml", xml.encode())
    assert failed_job(api, content) == (
        "The sheet reaches column XFD (XFD2); at most 200 columns are allowed"
    )


def test_far_reference_in_text_is_not_a_cell_and_a_far_cell_after_it_is_found(tmp_path):
    """The scan looks closely only where a far `r` value shows (anywhere): text that
    spells one passes, and a far cell in the same part of the sheet is still found."""
    xml = sheet_xml(xlsx(VALID)).decode()
    xml = re.sub(r'<dimension ref="[^"]*" ?/>', "", xml)
    text = '<c r="A3" t="inlineStr"><is><t>see r="XFD1048576"</t></is></c>'
    passes = xml.replace("</sheetData>", f'<row r="3">{text}</row></sheetData>')
    path = tmp_path / "text.xlsx"
    path.write_bytes(rewrite_part(xlsx(VALID), "xl/worksheets/sheet1.xml", passes.encode()))
    scan_sheet(path)
    assert read_rows(path)[2] == ['see r="XFD1048576"']

    far = passes.replace(
        "</sheetData>",
        '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
    )
    path.write_bytes(rewrite_part(xlsx(VALID), "xl/worksheets/sheet1.xml", far.encode()))
    with pytest.raises(UploadRejected) as refused_scan:
        scan_sheet(path)
    assert refused_scan.value.message == (
        "The sheet reaches row 1048576; at most 1000000 data rows are allowed"
    )


def test_calamine_crash_on_a_far_reference_is_contained(tmp_path):
    """Without the guards, calamine aborts the process: the child dies, not us."""
    path = tmp_path / "far.xlsx"
    path.write_bytes(far_cell(xlsx(VALID), with_dimension=False))
    with pytest.raises(UploadRejected) as caught:
        read_rows(path)
    assert caught.value.message.startswith("The sheet cannot be read: ")
    with pytest.raises(UploadRejected):
        scan_sheet(path)


def test_reader_memory_limit(tmp_path, settings):
    settings.KYC_UPLOAD_READER_MEMORY_BYTES = 24 * 1024 * 1024
    path = tmp_path / "big.xlsx"
    path.write_bytes(rewrite_part(xlsx(VALID), "xl/sharedStrings.xml", _strings(400_000)))
    with pytest.raises(UploadRejected) as caught:
        read_rows(path)
    assert caught.value.message.startswith("The sheet cannot be read: ")


def test_formulas_fail_the_job(api, org):
    content = xlsx([["Jane Doe", "P-1", 1, None], ["=1+1", "P-2", 1, None]], formulas=True)
    assert failed_job(api, content) == (
        "The sheet contains formulas (cell A3); upload values only (paste as values)"
    )
    assert not Customer.objects.filter(organisation=org).exists()


def test_the_worker_survives_and_imports_the_next_file(api, org):
    failed_job(api, far_cell(xlsx(VALID), with_dimension=False))
    response = post(api, xlsx(VALID))
    assert response.json()["data"]["status"] == "completed"
    assert Customer.objects.filter(organisation=org).count() == 1


def test_dtd_in_workbook_part(api):
    content = xlsx(VALID)
    workbook = zipfile.ZipFile(io.BytesIO(content)).read("xl/workbook.xml")
    evil = b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + workbook
    assert refused(api, rewrite_part(content, "xl/workbook.xml", evil)) == (
        "The workbook part xl/workbook.xml declares a DTD, which is not allowed"
    )


def test_nothing_is_stored_for_a_refused_file(api, settings):
    refused(api, b"not a zip")
    media = settings.MEDIA_ROOT
    assert not (media / "uploads").exists() or not any((media / "uploads").iterdir())
