"""Build .xlsx files (valid and hostile) for the import tests."""

import io
import json
import zipfile
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

HEADER = ["name", "referenceId", "accountTypeId", "connects"]


def xlsx(rows: list[list[Any]], header: list[str] | None = None, formulas: bool = False) -> bytes:
    """A workbook with `header` and `rows` (lists become JSON text). Text starting with
    "=" is stored as text unless `formulas`."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header or HEADER)
    for row in rows:
        sheet.append([json.dumps(v) if isinstance(v, list) else v for v in row])
        if not formulas:
            for cell in sheet[sheet.max_row]:
                if cell.data_type == "f":
                    cell.data_type = "s"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload_file(content: bytes, name: str = "customers.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name,
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def rewrite_part(content: bytes, part: str, data: bytes, *, compress: bool = True) -> bytes:
    """The same workbook with one zip part replaced (or added)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(out, "w", method) as target:
        for info in source.infolist():
            if info.filename != part:
                target.writestr(info.filename, source.read(info.filename))
        target.writestr(part, data)
    return out.getvalue()


def sheet_xml(content: bytes) -> bytes:
    return zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml")
