"""The identity and profile columns of the template (givenName, email, addressCity, …):
folded into the API's identity and profile, validated by its rules, merged into the
stored customer; errors name the sheet's column."""

import datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook

from customers.models import Customer
from imports.columns import cell_value, column_of, fold
from tests.factories import FieldDefinitionFactory, PersonFactory
from tests.imports.test_api import errors_of, upload

pytestmark = pytest.mark.django_db

HEADER = [
    "name", "referenceId", "accountTypeId", "givenName", "familyName", "birthDate",
    "legalName", "incorporationDate", "country", "email", "phone",
    "addressStreet", "addressHouseNumber", "addressPostalCode", "addressCity", "addressCountry",
]  # fmt: skip


def row(**cells):  # type: ignore[no-untyped-def]
    return [cells.get(column) for column in HEADER]


def test_person_and_company_columns_import_into_identity_and_address(api, org):
    data = upload(
        api,
        [
            row(name="Jane Doe", referenceId="P-1", accountTypeId=1, givenName="Jane",
                familyName="Doe", birthDate=datetime.datetime(1980, 5, 17), country="GB",
                email="jane@example.com", phone="+441234567890", addressStreet="High Street",
                addressHouseNumber=12, addressPostalCode="SW1A 1AA", addressCity="London",
                addressCountry="GB"),
            row(name="Acme Ltd", referenceId="C-1", accountTypeId=2, legalName="Acme Ltd",
                incorporationDate="2020-01-31", country="DE", addressPostalCode=10115,
                addressCity="Berlin", addressCountry="DE"),
        ],
        HEADER,
    )  # fmt: skip
    assert (data["createdCount"], data["skippedCount"]) == (2, 0), data
    person = Customer.objects.get(organisation=org, reference_id="P-1")
    assert (person.given_name, person.family_name, person.birth_date, person.country) == (
        "Jane",
        "Doe",
        datetime.date(1980, 5, 17),
        "GB",
    )
    assert (person.email, person.phone) == ("jane@example.com", "+441234567890")
    assert person.address == {
        "street": "High Street",
        "houseNumber": "12",  # a number typed in the cell is the text of its digits
        "postalCode": "SW1A 1AA",
        "city": "London",
        "country": "GB",
    }
    company = Customer.objects.get(organisation=org, reference_id="C-1")
    assert (company.legal_name, company.incorporation_date, company.country) == (
        "Acme Ltd",
        datetime.date(2020, 1, 31),
        "DE",
    )
    assert company.address == {"postalCode": "10115", "city": "Berlin", "country": "DE"}
    detail = api.get("/api/v1/customers/C-1").json()["data"]
    assert detail["profile"]["registrationAddress"]["city"] == "Berlin"


def test_an_empty_cell_leaves_the_stored_value_and_the_same_file_changes_nothing(api, org):
    PersonFactory(
        organisation=org,
        reference_id="P-1",
        name="Jane Doe",
        given_name="Jane",
        family_name="Doe",
        email="old@example.com",
        phone="+4930123456",
    )
    sheet = [row(name="Jane Doe", referenceId="P-1", accountTypeId=1, email="new@example.com")]
    data = upload(api, sheet, HEADER)
    assert data["updatedCount"] == 1, data
    jane = Customer.objects.get(organisation=org, reference_id="P-1")
    assert (jane.given_name, jane.email, jane.phone) == ("Jane", "new@example.com", "+4930123456")
    again = upload(api, sheet, HEADER)
    assert (again["updatedCount"], again["unchangedCount"]) == (0, 1)


def test_errors_name_the_flat_column(api, org):
    data = upload(
        api,
        [
            row(name="Jane Doe", referenceId="P-1", accountTypeId=1, givenName="Jane",
                familyName="Doe", birthDate="1980-02-30"),
            row(name="Acme Ltd", referenceId="C-1", accountTypeId=2, legalName="Acme Ltd",
                addressCountry="XX"),
            row(name="John Roe", referenceId="P-2", accountTypeId=1, country="GB"),
        ],
        HEADER,
    )  # fmt: skip
    assert data["skippedCount"] == 3
    columns = {(number, column) for number, column, _message in errors_of(data)}
    assert columns == {(2, "birthDate"), (3, "addressCountry"), (4, "givenName"), (4, "familyName")}
    assert not Customer.objects.filter(organisation=org).exists()


def test_a_custom_field_named_like_a_flat_column_keeps_its_column(api, org):
    FieldDefinitionFactory(organisation=org, key="email", name="Work e-mail", field_type="text")
    header = ["name", "referenceId", "accountTypeId", "email"]
    data = upload(api, [["Jane Doe", "P-1", 1, "jane@work.example"]], header)
    assert data["createdCount"] == 1, data
    jane = Customer.objects.get(organisation=org, reference_id="P-1")
    assert (jane.custom_fields, jane.email) == ({"email": "jane@work.example"}, "")
    template = api.get("/api/v1/customers/download-template")
    header_row = [c.value for c in load_workbook(BytesIO(template.content)).worksheets[0][1]]
    assert header_row.count("email") == 1


def test_fold_and_column_of():
    data = {"accountTypeId": 2, "addressCity": "Oslo", "legalName": "Fjord AS", "name": "x"}
    fold(data, ["legalName", "addressCity"])
    assert data == {
        "accountTypeId": 2,
        "name": "x",
        "identity": {"legalName": "Fjord AS"},
        "profile": {"registrationAddress": {"city": "Oslo"}},
    }
    assert column_of("profile.registrationAddress.city", ["addressCity"]) == "addressCity"
    assert column_of("profile.residentialAddress.city", ["addressCity"]) == "addressCity"
    assert column_of("identity.legalName", ["legalName"]) == "legalName"
    assert column_of("identity.legalName", ["addressCity"]) is None
    assert column_of("identity", ["legalName"]) is None
    assert cell_value(12.0) == "12" and cell_value(12.5) == "12.5" and cell_value(True) is True
    assert cell_value(datetime.datetime(2020, 1, 2, 0, 0)) == "2020-01-02"
