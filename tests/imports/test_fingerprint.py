"""Import digests (imports.fingerprint): a re-uploaded row is proven unchanged without
validation only while nothing it was judged against has changed."""

import hashlib

import pytest

from customers.models import Customer
from imports import fingerprint, importer
from relations.models import Connection
from tests.factories import FieldDefinitionFactory, PersonFactory
from tests.imports.test_api import errors_of, upload

pytestmark = pytest.mark.django_db

ROWS = [
    [
        "Acme Ltd",
        "C-1",
        2,
        [{"referenceId": "P-1", "role": "SHAREHOLDER", "ownershipPercentage": "40"}],
    ],
    ["Jane Doe", "P-1", 1, None],
    ["Broken", "X-1", 1, "[{"],
]
BROKEN = (
    4,
    "connects",
    "Malformed JSON: Expecting property name enclosed in double quotes (character 3)",
)


@pytest.fixture
def validated(monkeypatch):
    """The referenceIds clean_customer is called for, in order."""
    seen: list[str] = []
    clean = importer.clean_customer

    def spy(*, data, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(data.get("referenceId"))
        return clean(data=data, **kwargs)

    monkeypatch.setattr(importer, "clean_customer", spy)
    return seen


def counts(job):  # type: ignore[no-untyped-def]
    return (job["createdCount"], job["updatedCount"], job["unchangedCount"], job["skippedCount"])


def test_same_file_again_is_proven_unchanged_without_validation(api, validated):
    upload(api, ROWS)
    assert validated == ["C-1", "P-1", "X-1"]
    validated.clear()

    again = upload(api, ROWS)
    assert counts(again) == (0, 0, 2, 1)
    assert validated == ["X-1"]  # the skipped row is judged again, with the same error
    assert errors_of(again) == [BROKEN]


def test_a_change_through_the_api_is_undone_by_the_same_file(api, validated):
    upload(api, ROWS)
    response = api.patch("/api/v1/customers/P-1", {"name": "Jane Smith"}, format="json")
    assert response.status_code == 200
    validated.clear()

    again = upload(api, ROWS)
    assert counts(again) == (0, 1, 1, 1)
    assert validated == ["P-1", "X-1"]
    assert Customer.objects.get(reference_id="P-1").name == "Jane Doe"
    validated.clear()

    assert counts(upload(api, ROWS)) == (0, 0, 2, 1)
    assert validated == ["X-1"]


def test_a_connection_change_through_the_api_is_undone_by_the_same_file(api, validated):
    upload(api, ROWS)
    response = api.put("/api/v1/customers/C-1/connections", {"connects": []}, format="json")
    assert response.status_code == 200
    assert not Connection.objects.exists()
    validated.clear()

    again = upload(api, ROWS)
    assert counts(again) == (0, 1, 1, 1)
    assert validated == ["C-1", "X-1"]
    connection = Connection.objects.get()
    assert (connection.customer.reference_id, connection.connected_customer.reference_id) == (
        "C-1",
        "P-1",
    )


def test_new_rules_judge_the_same_file_again(api, org, validated):
    upload(api, ROWS)
    FieldDefinitionFactory(organisation=org, key="segment", field_type="text", required=True)
    validated.clear()

    again = upload(api, ROWS)
    assert validated == ["C-1", "P-1", "X-1"]
    assert counts(again) == (0, 0, 0, 3)
    assert errors_of(again)[:2] == [
        (2, "segment", "This field is required (Segment)."),
        (3, "segment", "This field is required (Segment)."),
    ]


def test_rows_found_unchanged_by_validation_are_proven_the_next_time(api, org, validated):
    PersonFactory(organisation=org, reference_id="P-1", name="Jane Doe")
    stored = Customer.objects.values("updated_at", "import_digest").get()
    assert stored["import_digest"] == ""

    first = upload(api, [["Jane Doe", "P-1", 1, None]])
    assert counts(first) == (0, 0, 1, 0)
    assert validated == ["P-1"]
    after = Customer.objects.values("updated_at", "import_digest").get()
    assert after["updated_at"] == stored["updated_at"]  # found unchanged: not a write
    assert len(after["import_digest"]) == 32
    assert Customer.history.count() == 1
    validated.clear()

    assert counts(upload(api, [["Jane Doe", "P-1", 1, None]])) == (0, 0, 1, 0)
    assert validated == []


def test_a_change_of_connections_alone_moves_updated_at(api, validated):
    upload(api, ROWS)
    before = Customer.objects.get(reference_id="C-1").updated_at
    changed = [[*ROWS[0][:3], [{**ROWS[0][3][0], "ownershipPercentage": "45"}]], *ROWS[1:]]

    job = upload(api, changed)
    assert counts(job) == (0, 1, 1, 1)
    company = Customer.objects.get(reference_id="C-1")
    assert company.updated_at > before
    assert company.history.count() == 1  # the customer's fields did not change
    assert str(Connection.objects.get().ownership_percentage) == "45.0000"
    validated.clear()

    assert counts(upload(api, changed)) == (0, 0, 2, 1)
    assert validated == ["X-1"]


def test_a_changed_setting_of_the_rules_judges_the_same_file_again(api, validated, settings):
    upload(api, ROWS)
    validated.clear()
    assert counts(upload(api, ROWS)) == (0, 0, 2, 1)
    assert validated == ["X-1"]

    settings.KYC_MAX_CONNECTS = settings.KYC_MAX_CONNECTS + 1
    validated.clear()
    assert counts(upload(api, ROWS)) == (0, 0, 2, 1)
    assert validated == ["C-1", "P-1", "X-1"]


def test_changed_rule_sources_judge_the_same_file_again(api, validated, monkeypatch):
    upload(api, ROWS)
    monkeypatch.setattr(fingerprint, "RULES_SOURCE", "0" * 32)
    validated.clear()
    assert counts(upload(api, ROWS)) == (0, 0, 2, 1)
    assert validated == ["C-1", "P-1", "X-1"]


def test_the_rules_digest_follows_the_source_files(tmp_path, monkeypatch):
    package = tmp_path / "rulespkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    rule = package / "rule.py"
    rule.write_text("LIMIT = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = fingerprint._source_digest(("rulespkg.rule",))
    assert fingerprint._source_digest(("rulespkg.rule",)) == before
    rule.write_text("LIMIT = 2\n")
    assert fingerprint._source_digest(("rulespkg.rule",)) != before


def test_the_rules_cover_the_validation_modules():
    assert {
        "customers.validation.customer",
        "customers.validation.values",
        "relations.validation",
        "imports.importer",
    } <= set(fingerprint.RULE_MODULES)
    assert "KYC_MAX_CONNECTS" in fingerprint.RULE_SETTINGS
    assert len(fingerprint.RULES_SOURCE) == 32


# Every kind of value a row holds: text (non-ASCII too), small and large integers, a
# float, booleans, None, and the identity and profile objects folded from cells.
SAMPLE_ROW = {
    "name": "Jürgen Müller",
    "referenceId": "P-1",
    "accountTypeId": 1,
    "clientNumber": 2**40,
    "score": 0.1,
    "monitored": True,
    "identity": {"givenName": "Jürgen", "address": {"city": "Köln"}},
    "tags": ["a", 2, -3.5, None, False],
}
SAMPLE_ROW_SOURCE_SHA256 = "9733c9b768d62bfb79597f217a08cfc0e597af86aa38e00d08bea85ff5e0ab96"


def test_the_row_source_is_the_same_bytes_on_every_python_here():
    # Computed with Python 3.12.1 and 3.13.0: a row's digest does not depend on the
    # Python version (or the process) that made it.
    source = fingerprint.row_source(SAMPLE_ROW)
    assert hashlib.sha256(source).hexdigest() == SAMPLE_ROW_SOURCE_SHA256


def test_row_sources_tell_values_of_different_types_apart():
    sources = {
        fingerprint.row_source({"accountTypeId": value})
        for value in (1, 1.0, True, "1", [1], {"1": 1})
    }
    assert len(sources) == 6


def test_digests_of_an_older_format_are_not_matched(api, validated, monkeypatch):
    with monkeypatch.context() as patched:
        patched.setattr(importer, "row_source", lambda data: repr(tuple(data.items())).encode())
        upload(api, ROWS)
    validated.clear()

    again = upload(api, ROWS)
    assert counts(again) == (0, 0, 2, 1)
    assert validated == ["C-1", "P-1", "X-1"]  # judged again, found unchanged
    validated.clear()
    assert counts(upload(api, ROWS)) == (0, 0, 2, 1)
    assert validated == ["X-1"]
