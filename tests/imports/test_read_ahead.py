"""The next batch's stored customers read while a batch is planned (imports.read_ahead):
a plan takes a read made for exactly its rows, and reads itself otherwise."""

import threading
from typing import Any

import pytest
from django.db import connection

from imports.importer import Importer
from imports.read_ahead import ReadAhead
from tests.imports.sheets import upload_file, xlsx

URL = "/api/v1/customers/bulk-upload"


def test_a_read_is_taken_once_and_only_for_the_references_it_was_made_for():
    asked: list[list[str]] = []

    def read(refs: list[str]) -> dict[str, dict[str, Any]]:
        asked.append(refs)
        return {ref: {"id": n} for n, ref in enumerate(refs, start=1)}

    ahead = ReadAhead(read)
    try:
        ahead.request(2, ["A", "B"])
        ahead.request(4, ["C"])
        ahead.request(6, [])  # nothing to read
        assert ahead.take(2, ["A", "B"]) == {"A": {"id": 1}, "B": {"id": 2}}
        assert ahead.take(2, ["A", "B"]) is None  # taken already
        assert ahead.take(4, ["C", "D"]) is None  # made for other rows
        assert ahead.take(6, []) is None
        assert ahead.take(8, ["E"]) is None  # never asked for
    finally:
        ahead.close()
    assert asked == [["A", "B"], ["C"]]


@pytest.mark.django_db(transaction=True)
def test_later_batches_read_ahead_on_a_thread_of_their_own(api, org, batches, monkeypatch):
    """The first batch reads its stored customers itself; every later one takes what the
    reading thread read for exactly its rows while the batch before it was planned."""
    if connection.vendor != "postgresql":
        pytest.skip("the batches are planned beside a writer thread on PostgreSQL only")
    rows = [[f"Person {n}", f"P-{n}", 1, None] for n in range(1, 6)]
    rows.insert(3, ["Again", "P-1", 1, None])  # a duplicate: not its batch's to read
    reads: list[tuple[str, list[str]]] = []
    stored = Importer.stored

    def recorded(self: Importer, refs: list[str]) -> Any:
        reads.append((threading.current_thread().name.split("_")[0], refs))
        return stored(self, refs)

    monkeypatch.setattr(Importer, "stored", recorded)
    for _ in range(2):  # a fresh import, then the same file again (all found)
        response = api.post(URL, {"file": upload_file(xlsx(rows))}, format="multipart")
        assert response.status_code == 202, response.json()
        job = api.get(f"{URL}/{response.json()['data']['id']}").json()["data"]
        assert job["status"] == "completed"
    assert (job["unchangedCount"], job["skippedCount"]) == (5, 1)
    expected = [
        ("MainThread", ["P-1", "P-2"]),
        ("bulk-upload-reader", ["P-3"]),
        ("bulk-upload-reader", ["P-4", "P-5"]),
    ]
    assert sorted(reads) == sorted(expected * 2)
