"""The template workbook, and user text that must never become a formula."""

import io

import pytest
from openpyxl import load_workbook

from imports.report import build_report
from imports.template import ACCOUNT_TYPE_ERROR, CONNECTS_EXAMPLE, build_template
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
    segment = validations["E2:E101"]
    assert segment.formula1 == '"retail,sme"' and segment.showErrorMessage is True

    lines = [[c.value for c in row] for row in workbook["Instructions"].iter_rows()]
    by_column = {line[0]: line for line in lines if line[0]}
    for column in ("name", "referenceId", "accountTypeId", "riskBand", "segment", "connects"):
        assert column in by_column, column
    assert by_column["riskBand"][1:] == ["no", "Custom field “Risk band”. A number."]
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
