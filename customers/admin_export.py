"""Exports of customers for the admin's list: Excel and CSV of the identity columns an
officer needs. Values are never live formulas: Excel cells are written as text, and
CSV cells that a spreadsheet would read as a formula (starting with = + - @, a tab or a
carriage return) are prefixed with a quote, as OWASP recommends."""

import csv
import datetime
import io
from collections.abc import Callable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, WriteOnlyCell
from openpyxl.utils import get_column_letter

from customers.models import Customer

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _local(value: datetime.datetime | None) -> datetime.datetime | None:
    # Spreadsheets have no time zones: the officer's local time, without one.
    return timezone.localtime(value).replace(tzinfo=None) if value else None


COLUMNS: list[tuple[str, Callable[[Customer], Any]]] = [
    ("Reference", lambda c: c.reference_id),
    ("Name", lambda c: c.name),
    ("Type", lambda c: c.get_account_type_display()),
    ("Status", lambda c: c.get_status_display()),
    ("Onboarding", lambda c: c.get_onboarding_status_display()),
    ("Needs review", lambda c: "Yes" if c.needs_review else "No"),
    ("Risk level", lambda c: c.risk_level or ""),
    ("Risk score", lambda c: c.risk_score),
    ("Country", lambda c: c.country),
    ("Email", lambda c: c.email),
    ("Created", lambda c: _local(c.created_at)),
    ("Last screened", lambda c: _local(c.last_screening_date)),
]
FIELDS = (
    "reference_id",
    "name",
    "account_type",
    "status",
    "onboarding_status",
    "needs_review",
    "risk_level",
    "risk_score",
    "country",
    "email",
    "created_at",
    "last_screening_date",
)


def export_rows(queryset: QuerySet[Customer]) -> Iterator[list[Any]]:
    """The export's values, row by row, in the list's order."""
    for customer in queryset.select_related(None).only(*FIELDS).iterator(chunk_size=2000):
        yield [value(customer) for _, value in COLUMNS]


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def export_csv(queryset: QuerySet[Customer], filename: str) -> tuple[HttpResponse, int]:
    """The response and the number of rows exported."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([name for name, _ in COLUMNS])
    count = 0
    for row in export_rows(queryset):
        writer.writerow([csv_cell(value) for value in row])
        count += 1
    # A BOM, so that Excel opens the UTF-8 file with its accents.
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response, count


def export_xlsx(queryset: QuerySet[Customer], filename: str) -> tuple[HttpResponse, int]:
    """The response and the number of rows exported."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Customers")
    for index, width in enumerate((18, 36, 10, 10, 12, 12, 12, 10, 8, 30, 18, 18), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([name for name, _ in COLUMNS])
    count = 0
    for row in export_rows(queryset):
        sheet.append([_xlsx_cell(sheet, value) for value in row])
        count += 1
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response, count


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    if not isinstance(value, str):
        cell = WriteOnlyCell(sheet, value)
        if isinstance(value, datetime.datetime):
            cell.number_format = "yyyy-mm-dd hh:mm"
        return cell
    cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("", value))
    # openpyxl reads a string starting with "=" as a formula: it stays text.
    cell.data_type = "s"
    return cell
