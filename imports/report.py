"""The per-row report of an upload, and the one way to write user text into a workbook.

A cell whose text starts with `=` is a formula to openpyxl, and `+ - @` (or a tab or
carriage return) start one in Excel once the cell is edited. Every user value is
therefore written as an explicit string cell, and those with such a first character
also get Excel's quote prefix, so they stay text even after editing.

Values go through openpyxl's own checks (the `value` setter). Control characters that
XML cannot hold, which openpyxl refuses, are first replaced by U+FFFD, and text that
reads like Excel's escape of a character (`_x0007_`) is escaped itself
(`_x005F_x0007_`), so the workbook is always well-formed and shows what was uploaded.
"""

import re
from collections.abc import Iterable
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from imports.models import RowOutcome

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
OUTCOME_LABELS = {o.value: o.label for o in RowOutcome}


# Excel reads `_xHHHH_` in a string as the character U+HHHH; `_x005F_` is the underscore.
_EXCEL_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")


def sheet_text(value: str) -> str:
    """`value` as text a worksheet can hold and shows as it is."""
    value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return _EXCEL_ESCAPE.sub("_x005F_", value) if "_x" in value else value


def text_cell(sheet: WriteOnlyWorksheet, value: Any) -> WriteOnlyCell:
    """A write-only cell that can never become a formula."""
    if value is None or value == "" or isinstance(value, bool | int | float):
        value = None if value == "" else value
        return WriteOnlyCell(sheet, value=value)
    text = sheet_text(str(value))
    cell = WriteOnlyCell(sheet, value=text)
    # openpyxl reads "=…" as a formula and "#N/A" as an error: both are text here.
    cell.data_type = "s"
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    return cell


def build_report(
    *,
    header: list[Any],
    rows: Iterable[tuple[int, list[Any], str, str]],
) -> bytes:
    """`rows`: (excel row, input values, outcome letter, reason)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Report")
    bold = Font(bold=True)
    titles = ["row", *[str(h) if h is not None else "" for h in header], "outcome", "reason"]
    title_cells = []
    for title in titles:
        cell = text_cell(sheet, title)
        cell.font = bold
        title_cells.append(cell)
    sheet.append(title_cells)
    width = len(header)
    for number, values, outcome, reason in rows:
        padded = list(values[:width]) + [None] * (width - len(values))
        sheet.append(
            [
                number,
                *(text_cell(sheet, v) for v in padded),
                OUTCOME_LABELS.get(outcome, outcome),
                text_cell(sheet, reason),
            ]
        )
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()
