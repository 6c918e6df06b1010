"""The bulk upload through the API: rows, skipped rows, re-upload, report, tenancy."""

import io
import json

import pytest
from openpyxl import load_workbook

from customers.models import AccountType, Customer
from imports.columns import FLAT_COLUMNS
from imports.models import BulkUpload
from relations.models import Connection, Role
from tests.factories import CompanyFactory, ConnectionFactory, FieldDefinitionFactory, PersonFactory
from tests.imports.sheets import upload_file, xlsx

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/bulk-upload"


def post(client, content: bytes, name: str = "customers.xlsx"):  # type: ignore[no-untyped-def]
    return client.post(URL, {"file": upload_file(content, name)}, format="multipart")


def upload(client, rows, header=None):  # type: ignore[no-untyped-def]
    response = post(client, xlsx(rows, header))
    assert response.status_code == 202, response.json()
    return response.json()["data"]


def errors_of(data):  # type: ignore[no-untyped-def]
    return [(e["row"], e["column"], e["message"]) for e in data["rowErrors"]]


def test_upload_answers_202_with_the_job(api, org):
    response = post(api, xlsx([["Jane Doe", "P-1", 1, None]]))
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == 202
    assert body["message"] == "Bulk upload accepted"
    data = body["data"]
    # Tests run tasks at once: the job is already done.
    assert data["status"] == "completed"
    assert data["fileName"] == "customers.xlsx"
    assert data["totalRows"] == 1
    assert data["processedRows"] == 1
    assert data["createdCount"] == 1
    assert (data["updatedCount"], data["unchangedCount"], data["skippedCount"]) == (0, 0, 0)
    assert data["rowErrors"] == []
    assert data["createdAt"].endswith("Z") and data["finishedAt"].endswith("Z")
    customer = Customer.objects.get(organisation=org, reference_id="P-1")
    assert (customer.name, customer.account_type) == ("Jane Doe", AccountType.PERSON)
    assert len(customer.client_number) == 8
    assert customer.search_text == f"jane doe p-1 {customer.client_number}"


def test_status_endpoint(api):
    job = upload(api, [["Jane Doe", "P-1", 1, None]])
    response = api.get(f"{URL}/{job['id']}")
    assert response.status_code == 200
    assert response.json()["message"] == "Bulk upload fetched successfully"
    assert response.json()["data"] == job


def test_forward_references_and_connections(api, org):
    job = upload(
        api,
        [
            [
                "Acme Ltd",
                "C-1",
                2,
                [
                    {"referenceId": "P-1", "role": "DIRECTOR"},
                    {"referenceId": "C-2", "role": "SHAREHOLDER", "ownershipPercentage": "60"},
                    {"referenceId": "P-1", "role": "UBO", "ownershipPercentage": 25.5},
                ],
            ],
            ["Holdco Ltd", "C-2", 2, [{"referenceId": "P-1", "role": "SHAREHOLDER"}]],
            ["Jane Doe", "P-1", 1, None],
        ],
    )
    assert job["createdCount"] == 3 and job["skippedCount"] == 0
    acme = Customer.objects.get(organisation=org, reference_id="C-1")
    got = {
        (c.connected_customer.reference_id, c.role, c.ownership_percentage)
        for c in Connection.objects.filter(customer=acme)
    }
    assert {(ref, role, str(p) if p is not None else None) for ref, role, p in got} == {
        ("P-1", Role.DIRECTOR, None),
        ("C-2", Role.SHAREHOLDER, "60.0000"),
        ("P-1", Role.UBO, "25.5000"),
    }
    assert Connection.objects.filter(organisation=org).count() == 4


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("[{", "Malformed JSON: Expecting property name enclosed in double quotes (character 3)"),
        ('{"referenceId": "P-1"}', "connects must be a list"),
        (
            '[{"referenceId":"P-1","role":"SHAREHOLDER","ownershipPercentage":NaN}]',
            "NaN is not allowed in JSON",
        ),
        ("[" * 20 + "]" * 20, "JSON nested deeper than 8 levels"),
        (
            '[{"referenceId":"P-1","role":"BOSS"}]',
            'connects[0].role: Unknown role "BOSS". Use one of UBO, DIRECTOR, SHAREHOLDER, '
            "AUTHORIZED_PERSON, BANK_ACCOUNT, ACCOUNT_HOLDER",
        ),
        ('[{"referenceId":"NOPE","role":"DIRECTOR"}]', "Connected customer(s) not found: NOPE"),
        (
            '[{"referenceId":"C-9","role":"UBO"}]',
            "Role UBO is only valid for Person customers (C-9)",
        ),
        (
            '[{"referenceId":"C-1","role":"SHAREHOLDER"}]',
            "A customer cannot be connected to itself (C-1)",
        ),
    ],
)
def test_connects_errors_skip_the_row(api, org, cell, message):
    CompanyFactory(organisation=org, reference_id="C-9")
    job = upload(
        api,
        [
            ["Jane Doe", "P-1", 1, None],
            ["Acme Ltd", "C-1", 2, cell],
        ],
    )
    assert errors_of(job) == [(3, "connects", message)]
    assert (job["createdCount"], job["skippedCount"]) == (1, 1)
    assert not Customer.objects.filter(organisation=org, reference_id="C-1").exists()


def test_customer_errors_skip_the_row_with_column_and_message(api, org):
    FieldDefinitionFactory(organisation=org, key="riskBand", field_type="number")
    header = ["name", "referenceId", "accountTypeId", "riskBand", "connects"]
    job = upload(
        api,
        [
            ["Jane Doe", "P-1", 1, 3, None],
            ["Bad Type", "P-2", 3, None, None],
            [None, "P-3", 1, None, None],
            ["No Ref", None, 1, None, None],
            ["Bad Number", "P-4", 1, "high", None],
            ["Again", "P-1", 1, None, None],
        ],
        header,
    )
    assert errors_of(job) == [
        (3, "accountTypeId", "Must be 1 (Person) or 2 (Company)."),
        (4, "name", "This field is required."),
        (5, "referenceId", "This field is required."),
        (6, "riskBand", 'Must be a number (a JSON number or a decimal string such as "12.5").'),
        (7, "referenceId", 'Duplicate referenceId "P-1": already on row 2 (this row is skipped)'),
    ]
    assert (job["createdCount"], job["skippedCount"]) == (1, 5)
    jane = Customer.objects.get(organisation=org, reference_id="P-1")
    assert jane.name == "Jane Doe" and jane.custom_fields == {"riskBand": 3}


def test_rows_referring_to_a_skipped_row_are_imported_without_their_connections(api, org):
    """Was: such rows were skipped too. Customers are now committed before connections
    are written (batch by batch), so a row whose connects name a row that turns out to
    be skipped keeps its customer, and none of its connections is written."""
    job = upload(
        api,
        [
            ["Acme Ltd", "C-1", 2, [{"referenceId": "C-2", "role": "SHAREHOLDER"}]],
            ["Holdco Ltd", "C-2", 2, [{"referenceId": "P-1", "role": "DIRECTOR"}]],
            ["Jane Doe", "P-1", 9, None],
        ],
    )
    assert errors_of(job) == [
        (
            3,
            "connects",
            "Connected customer(s) not imported: P-1 (row 4 was skipped); this row's "
            "customer was imported without its connections",
        ),
        (4, "accountTypeId", "Must be 1 (Person) or 2 (Company)."),
    ]
    assert (job["createdCount"], job["skippedCount"]) == (2, 1)
    acme = Customer.objects.get(organisation=org, reference_id="C-1")
    assert [(c.connected_customer.reference_id, c.role) for c in acme.connections.all()] == [
        ("C-2", Role.SHAREHOLDER)
    ]
    holdco = Customer.objects.get(organisation=org, reference_id="C-2")
    assert not Connection.objects.filter(customer=holdco).exists()


def test_a_skipped_update_of_an_existing_customer_still_resolves(api, org):
    PersonFactory(organisation=org, reference_id="P-1", name="Jane Doe")
    job = upload(
        api,
        [
            ["Acme Ltd", "C-1", 2, [{"referenceId": "P-1", "role": "DIRECTOR"}]],
            ["Jane Doe", "P-1", 2, None],  # cannot change the account type
        ],
    )
    assert errors_of(job) == [
        (
            3,
            "accountTypeId",
            "Cannot be changed after creation: this customer is a Person (1).",
        )
    ]
    assert job["createdCount"] == 1


def test_same_file_twice_changes_nothing_the_second_time(api, org):
    rows = [
        [
            "Acme Ltd",
            "C-1",
            2,
            [{"referenceId": "P-1", "role": "SHAREHOLDER", "ownershipPercentage": "40"}],
        ],
        ["Jane Doe", "P-1", 1, None],
        ["Broken", "X-1", 1, "[{"],
    ]
    first = upload(api, rows)
    assert (first["createdCount"], first["skippedCount"]) == (2, 1)
    customers = list(Customer.objects.order_by("id").values())
    connections = list(Connection.objects.order_by("id").values())
    history = (Customer.history.count(), Connection.history.count())
    assert history == (2, 1)

    second = upload(api, rows)
    assert (second["createdCount"], second["updatedCount"], second["unchangedCount"]) == (0, 0, 2)
    assert second["skippedCount"] == 1
    assert list(Customer.objects.order_by("id").values()) == customers
    assert list(Connection.objects.order_by("id").values()) == connections
    assert (Customer.history.count(), Connection.history.count()) == history


def test_changed_rows_update_and_connects_replace_the_connections(api, org):
    acme = CompanyFactory(organisation=org, reference_id="C-1", name="Acme Ltd")
    jane = PersonFactory(organisation=org, reference_id="P-1", name="Jane Doe")
    john = PersonFactory(organisation=org, reference_id="P-2", name="John Roe")
    kept = ConnectionFactory(customer=acme, connected_customer=jane, role=Role.DIRECTOR)
    gone = ConnectionFactory(customer=acme, connected_customer=john, role=Role.DIRECTOR)
    share = ConnectionFactory(
        customer=acme, connected_customer=jane, role=Role.SHAREHOLDER, ownership_percentage=10
    )
    job = upload(
        api,
        [
            [
                "Acme Limited",
                "C-1",
                2,
                [
                    {"referenceId": "P-1", "role": "DIRECTOR"},
                    {"referenceId": "P-1", "role": "SHAREHOLDER", "ownershipPercentage": "30"},
                    {"referenceId": "P-2", "role": "UBO"},
                ],
            ],
            ["John Roe", "P-2", 1, None],  # unchanged
            ["Jane Doe", "P-1", 1, "[]"],  # had no connections of its own: unchanged
        ],
    )
    assert (job["updatedCount"], job["unchangedCount"]) == (1, 2)
    acme.refresh_from_db()
    assert acme.name == "Acme Limited"
    rows = {(c.connected_customer_id, c.role): c for c in Connection.objects.filter(customer=acme)}
    assert set(rows) == {(jane.pk, "DIRECTOR"), (jane.pk, "SHAREHOLDER"), (john.pk, "UBO")}
    assert rows[(jane.pk, "DIRECTOR")].pk == kept.pk
    assert rows[(jane.pk, "DIRECTOR")].created_at == kept.created_at
    assert rows[(jane.pk, "SHAREHOLDER")].pk == share.pk
    assert str(rows[(jane.pk, "SHAREHOLDER")].ownership_percentage) == "30.0000"
    assert not Connection.objects.filter(pk=gone.pk).exists()

    history = {h.history_type for h in Connection.history.filter(id=gone.pk)}
    assert history == {"+", "-"}
    update = acme.history.latest("history_id")
    assert (update.history_type, update.name, update.history_channel) == (
        "~",
        "Acme Limited",
        "import",
    )
    assert update.history_api_key_id == api.api_key.pk


def test_rows_that_change_only_connections_count_as_updated(api, org):
    acme = CompanyFactory(organisation=org, reference_id="C-1", name="Acme Ltd")
    PersonFactory(organisation=org, reference_id="P-1")
    before = acme.history.count()
    job = upload(api, [["Acme Ltd", "C-1", 2, [{"referenceId": "P-1", "role": "DIRECTOR"}]]])
    assert job["updatedCount"] == 1
    assert acme.history.count() == before  # the customer row itself was not written
    assert Connection.history.get().history_channel == "import"


def test_history_of_created_rows_names_the_key_and_channel(api, org):
    upload(api, [["Jane Doe", "P-1", 1, None]])
    record = Customer.history.get()
    assert (record.history_type, record.history_channel) == ("+", "import")
    assert record.history_api_key_id == api.api_key.pk
    assert record.history_change_reason.startswith("Bulk upload #")


def test_unknown_columns_are_ignored_and_said(api, org):
    job = upload(
        api, [["Jane Doe", "P-1", 1, "x"]], ["name", "referenceId", "accountTypeId", "colour"]
    )
    assert job["createdCount"] == 1
    assert job["message"] == "Ignored column(s) that match no customer field: colour"


def test_missing_header_columns_fail_the_job(api):
    job = upload(api, [["Jane Doe", "P-1"]], ["name", "referenceId"])
    assert job["status"] == "failed"
    assert job["message"] == (
        "The header row (row 1) lacks the column(s) accountTypeId; it must start with "
        "name, referenceId, accountTypeId (download the template)"
    )


def test_blank_rows_are_not_counted(api, org):
    job = upload(api, [["Jane Doe", "P-1", 1, None], [None, None, None, None], ["John", "P-2", 1]])
    assert (job["totalRows"], job["createdCount"]) == (2, 2)


def test_numbers_in_text_columns_are_text(api, org):
    FieldDefinitionFactory(organisation=org, key="branch", field_type="text")
    header = ["name", "referenceId", "accountTypeId", "branch"]
    upload(api, [[1234, 5678, 1, 12]], header)
    customer = Customer.objects.get(organisation=org)
    assert (customer.name, customer.reference_id, customer.custom_fields) == (
        "1234",
        "5678",
        {"branch": "12"},
    )


def test_report_lists_every_row_with_outcome_and_reason(api, org):
    PersonFactory(organisation=org, reference_id="P-2", name="John Roe")
    job = upload(
        api,
        [
            ["Jane Doe", "P-1", 1, None],
            ["John Roe", "P-2", 1, None],
            ['=HYPERLINK("http://evil")', "C-1", 2, '[{"referenceId":"X","role":"UBO"}]'],
            ["+cmd", "-P-3", 1, None],
            ["@SUM(A1)", "P-4", 3, None],
        ],
    )
    response = api.get(f"{URL}/{job['id']}/report")
    assert response.status_code == 200, response.json()
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows == [
        ["row", "name", "referenceId", "accountTypeId", "connects", "outcome", "reason"],
        [2, "Jane Doe", "P-1", 1, None, "created", None],
        [3, "John Roe", "P-2", 1, None, "unchanged", None],
        [
            4,
            '=HYPERLINK("http://evil")',
            "C-1",
            2,
            '[{"referenceId":"X","role":"UBO"}]',
            "skipped",
            "connects: Connected customer(s) not found: X",
        ],
        [5, "+cmd", "-P-3", 1, None, "created", None],
        [
            6,
            "@SUM(A1)",
            "P-4",
            3,
            None,
            "skipped",
            "accountTypeId: Must be 1 (Person) or 2 (Company).",
        ],
    ]
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
    assert sheet["B4"].data_type == "s" and sheet["B4"].quotePrefix
    # The second download serves the stored report.
    assert BulkUpload.objects.get(pk=job["id"]).report
    assert api.get(f"{URL}/{job['id']}/report").content == response.content


def test_report_of_a_failed_job_is_409(api):
    job = upload(api, [["Jane"]], ["name"])
    response = api.get(f"{URL}/{job['id']}/report")
    assert response.status_code == 409
    assert response.json()["message"].startswith("The upload failed: The header row")


def test_jobs_belong_to_their_organisation(api, outsider_api, readonly_api, anon_api):
    job = upload(api, [["Jane Doe", "P-1", 1, None]])
    for path in (f"{URL}/{job['id']}", f"{URL}/{job['id']}/report"):
        response = outsider_api.get(path)
        assert response.status_code == 404
        assert response.json() == {
            "message": "Bulk upload not found",
            "error": "Not Found",
            "statusCode": 404,
        }
    assert readonly_api.get(f"{URL}/{job['id']}").status_code == 200
    response = post(readonly_api, xlsx([["Jane Doe", "P-1", 1, None]]))
    assert response.status_code == 403
    assert response.json()["message"] == "This API key lacks the kyc:create scope."
    assert post(anon_api, xlsx([])).status_code == 401
    listed = outsider_api.get(URL).json()
    assert listed["data"] == [] and listed["meta"]["totalElements"] == 0


def test_list_of_jobs(api, django_assert_num_queries):
    for n in range(3):
        upload(api, [["Jane Doe", f"P-{n}", 1, None]])
    with django_assert_num_queries(3):  # key, count, page
        response = api.get(URL)
    body = response.json()
    assert body["message"] == "Bulk uploads fetched successfully"
    assert [job["totalRows"] for job in body["data"]] == [1, 1, 1]
    assert body["meta"]["totalElements"] == 3


def test_no_file_is_400(api):
    response = api.post(URL, {}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"] == {"file": ["No file was submitted."]}


def test_template_download(api, org):
    FieldDefinitionFactory(organisation=org, key="riskBand", name="Risk band")
    response = api.get("/api/v1/customers/download-template")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="customers-template.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert [c.value for c in sheet[1]] == [
        "name",
        "referenceId",
        "accountTypeId",
        "externalId",
        *FLAT_COLUMNS,
        "riskBand",
        "connects",
    ]


def test_connects_json_cell_round_trip_with_dates(api, org):
    upload(
        api,
        [
            [
                "Acme Ltd",
                "C-1",
                2,
                json.dumps(
                    [{"referenceId": "P-1", "role": "REPRESENTATIVE", "validFrom": "2024-01-01"}]
                ),
            ],
            ["Jane Doe", "P-1", 1, None],
        ],
    )
    connection = Connection.objects.get()
    assert (connection.role, str(connection.valid_from)) == ("AUTHORIZED_PERSON", "2024-01-01")
