"""The template offers every flat column the importer reads, and a filled template
imports them, end to end: downloaded from the admin, filled, uploaded through the
admin, run by the job runner."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from customers.models import Customer
from imports.models import BulkUpload, UploadStatus
from imports.template import OPTIONAL_COLUMNS
from tests.admin_support import make_staff
from tests.factories import FieldDefinitionFactory
from tests.imports.sheets import upload_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, org):
    client.force_login(make_staff(org))
    return client


def filled_template(client, rows: list[dict[str, object]]) -> bytes:
    response = client.get(reverse("admin:customers-download-template"))
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook["Customers"]
    header = [cell.value for cell in sheet[1]]
    for row in rows:
        sheet.append([row.get(column) for column in header])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_the_header_has_the_optional_columns(staff_client, org):
    FieldDefinitionFactory(organisation=org, key="tier", name="Tier", field_type="text")
    response = staff_client.get(reverse("admin:customers-download-template"))
    workbook = load_workbook(io.BytesIO(response.content))
    header = [cell.value for cell in workbook["Customers"][1]]
    assert header == [
        "name", "referenceId", "accountTypeId", "externalId",
        "givenName", "familyName", "birthDate", "legalName", "incorporationDate", "country",
        "email", "phone",
        "addressStreet", "addressHouseNumber", "addressRefinement", "addressPostalCode",
        "addressCity", "addressRegion", "addressCountry",
        "tier", "connects",
    ]  # fmt: skip
    assert OPTIONAL_COLUMNS == ["externalId"]
    dimensions = workbook["Customers"].column_dimensions
    for column in ("externalId", "phone", "addressHouseNumber", "addressPostalCode"):
        letter = get_column_letter(header.index(column) + 1)
        assert dimensions[letter].number_format == "@", column
    explained = {row[0] for row in workbook["Instructions"].iter_rows(values_only=True)}
    assert set(header) <= explained


def test_a_filled_template_imports_every_column(staff_client, org):
    FieldDefinitionFactory(organisation=org, key="tier", name="Tier", field_type="text")
    content = filled_template(
        staff_client,
        [
            {"name": "Acme Ltd", "referenceId": "T-C1", "accountTypeId": 2, "externalId": "CB-0042",
             "tier": "gold", "connects": '[{"referenceId":"T-P1","role":"DIRECTOR"}]'},
            {"name": "Jane Doe", "referenceId": "T-P1", "accountTypeId": 1, "externalId": "007"},
        ],
    )  # fmt: skip
    response = staff_client.post(
        reverse("admin:customers-bulk-upload"), {"file": upload_file(content)}
    )
    assert response.status_code == 302
    upload = BulkUpload.objects.get()
    assert (upload.status, upload.created_count, upload.skipped_count) == (
        UploadStatus.COMPLETED,
        2,
        0,
    )
    assert upload.message == ""  # no column of the template was ignored
    company = Customer.objects.get(organisation=org, reference_id="T-C1")
    person = Customer.objects.get(organisation=org, reference_id="T-P1")
    assert (company.external_id, company.custom_fields) == ("CB-0042", {"tier": "gold"})
    assert person.external_id == "007"  # a text cell: the leading zeros survive
    assert list(company.connections.values_list("connected_customer__reference_id", "role")) == [
        ("T-P1", "DIRECTOR")
    ]
