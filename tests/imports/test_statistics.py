"""An import that grows an organisation keeps PostgreSQL's statistics of it up to date
(imports.statistics): ANALYZE each time its writes have grown the organisation fourfold."""

import pytest
from django.db import connection

from imports import statistics
from tests.imports.sheets import upload_file, xlsx

URL = "/api/v1/customers/bulk-upload"


def _estimated_rows(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_the_statistics_are_refreshed_each_time_the_import_grows_the_organisation_fourfold(
    api, org, settings, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("ANALYZE and the planner's statistics are PostgreSQL's")
    monkeypatch.setattr(statistics, "MIN_ROWS", 1)
    settings.KYC_UPLOAD_BATCH_ROWS = 3
    rows = [[f"Person {n}", f"P-{n}", 1, None] for n in range(1, 11)]
    response = api.post(URL, {"file": upload_file(xlsx(rows))}, format="multipart")
    assert response.status_code == 202, response.json()
    job = api.get(f"{URL}/{response.json()['data']['id']}").json()["data"]
    assert (job["status"], job["createdCount"]) == ("completed", 10)
    # Batches of 3, 3, 3 and 1 new customers: from none, 3 is under 4 × the minimum of
    # 1, 6 is analysed; 9 and 10 are under 4 × 6.
    assert _estimated_rows("customers_customer") == 6
