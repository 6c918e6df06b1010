"""The template workbook, and user text that must never become a formula."""

import io

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook

from imports.columns import FLAT_COLUMNS
from imports.report import build_report
from imports.template import (
    ACCOUNT_TYPE_ERROR,
    CONNECTS_EXAMPLE,
    EXTERNAL_ID_HELP,
    build_template,
)
from tests.factories import FieldDefinitionFactory

pytestmark = pytest.mark.django_db


def test_template_header_dropdowns_and_instructions(org, other_org):
    FieldDefinitionFactory(organisation=org, key="riskBand", name="Risk band", field_type="number")
    FieldDefinitionFactory(
        organisation=org,
        key="segment",
        name="Segment",
        field_type="choice",
        choices=["retail", "sme"],
    )
    FieldDefinitionFactory(organisation=other_org, key="secret")
    workbook = load_workbook(io.BytesIO(build_template(organisation=org, rows=100)))
    assert workbook.sheetnames == ["Customers", "Instructions"]
    sheet = workbook["Customers"]
    assert [c.value for c in sheet[1]] == [
        "name",
        "referenceId",
        "accountTypeId",
        "externalId",
        *FLAT_COLUMNS,
        "riskBand",
        "segment",
        "connects",
    ]
    assert sheet.max_row == 1
    validations = {str(v.sqref): v for v in sheet.data_validations.dataValidation}
    account = validations["C2:C101"]
    assert (account.type, account.formula1) == ("list", '"1,2"')
    assert account.showErrorMessage is True
    assert account.error == ACCOUNT_TYPE_ERROR == "accountTypeId must be 1 (Person) or 2 (Company)."
    assert account.errorTitle == "Invalid accountTypeId"
    segment_letter = get_column_letter(4 + len(FLAT_COLUMNS) + 2)
    segment = validations[f"{segment_letter}2:{segment_letter}101"]
    assert segment.formula1 == '"retail,sme"' and segment.showErrorMessage is True

    lines = [[c.value for c in row] for row in workbook["Instructions"].iter_rows()]
    by_column = {line[0]: line for line in lines if line[0]}
    for column in ("name", "referenceId", "accountTypeId", "externalId", "riskBand", "segment"):
        assert column in by_column, column
    assert by_column["addressPostalCode"][1:] == [
        "no",
        "Address: postal code. An empty cell leaves the stored value.",
    ]
    assert all(column in by_column for column in FLAT_COLUMNS)
    assert "connects" in by_column
    assert by_column["riskBand"][1:] == ["no", "Custom field “Risk band”. A number."]
    assert by_column["externalId"][1:] == ["no", EXTERNAL_ID_HELP]
    assert "1 = Person, 2 = Company" in by_column["accountTypeId"][2]
    assert CONNECTS_EXAMPLE in by_column["connects"][2]
    assert by_column["UBO"][1] == "Person only"
    assert by_column["SHAREHOLDER"][1] == "Person or Company"
    assert "REPRESENTATIVE" in by_column["AUTHORIZED_PERSON"][2]
    assert "secret" not in by_column


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1:A2)", "\t=1", '=HYPERLINK("x")'])
def test_report_values_that_look_like_formulas_stay_text(value):
    content = build_report(header=["name"], rows=[(2, [value], "s", value)])
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    for cell in (sheet["B2"], sheet["D2"]):
        assert cell.value == value
        assert cell.data_type == "s"
        assert cell.quotePrefix is True
    assert sheet["C2"].value == "skipped"
    # And in the raw XML: no <f> element anywhere.
    import zipfile

    xml = zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in xml and b"<f " not in xml


def test_report_keeps_numbers_and_plain_text():
    content = build_report(header=["name", "n"], rows=[(2, ["Jane", 3], "c", "")])
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert [c.value for c in sheet[2]] == [2, "Jane", 3, "created", None]
    assert sheet["B2"].quotePrefix is False


def _calamine_rows(content: bytes) -> list[list[object]]:
    """The first sheet as Excel reads it (Excel's `_xHHHH_` escapes decoded)."""
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    return book.get_sheet_by_index(0).to_python()


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("bell\u0007name", "bell\ufffdname"),
        ("\u0000\u0008\u000b\u000c\u001f", "\ufffd" * 5),
        ("=1+\u0007", "=1+\ufffd"),
        ("_x0007_", "_x0007_"),
        ("a_x0041_b_x005F_", "a_x0041_b_x005F_"),
        ("#N/A", "#N/A"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
    ],
)
def test_report_is_well_formed_whatever_the_text(value, shown):
    content = build_report(header=["name"], rows=[(2, [value], "s", value)])
    workbook = load_workbook(io.BytesIO(content))  # a well-formed workbook
    sheet = workbook.worksheets[0]
    assert sheet["B2"].data_type == "s"
    assert sheet["D2"].data_type == "s"
    rows = _calamine_rows(content)
    assert rows[1][1] == shown
    assert rows[1][3] == shown


def test_report_writes_cells_through_openpyxl_checks(monkeypatch):
    """The value setter runs (no `_value` bypass): openpyxl's own check sees every text."""
    from openpyxl.cell import cell as cell_module

    seen: list[str] = []
    check = cell_module.Cell.check_string

    def spy(self, value):  # type: ignore[no-untyped-def]
        seen.append(value)
        return check(self, value)

    monkeypatch.setattr(cell_module.Cell, "check_string", spy)
    build_report(header=["name"], rows=[(2, ["=1+1"], "s", "why")])
    assert {"name", "=1+1", "why"} <= set(seen)


def test_template_survives_control_characters_in_stored_definitions(org):
    # Stored before the definition rules refused them.
    FieldDefinitionFactory(organisation=org, key="band", name="Ri\u0007sk", field_type="text")
    FieldDefinitionFactory(
        organisation=org,
        key="segment",
        name="Segment",
        field_type="choice",
        choices=["retail\u0007", "sme"],
    )
    workbook = load_workbook(io.BytesIO(build_template(organisation=org, rows=10)))
    lines = {row[0]: row for row in workbook["Instructions"].iter_rows(values_only=True) if row[0]}
    assert lines["band"][2] == "Custom field “Ri\ufffdsk”. Text."
    assert lines["segment"][2] == "Custom field “Segment”. One of: retail\ufffd, sme."
    # No dropdown that could not offer the stored choice as it is.
    sqrefs = {str(v.sqref) for v in workbook["Customers"].data_validations.dataValidation}
    assert sqrefs == {"C2:C11"}
