"""Watchlists written the way an upload writes them (through the import job)."""

import json
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from customers.models import Customer
from organisations.models import Organisation
from screening.models import ScreeningHit, Watchlist, WatchlistEntry, WatchlistStatus
from screening.services import watchlist_upload


def ftm(source_id: str, schema: str, names: list[str], **properties: Any) -> dict[str, Any]:
    return {"id": source_id, "schema": schema, "properties": {"name": names, **properties}}


def ftm_lines(*records: dict[str, Any]) -> bytes:
    return "\n".join(json.dumps(record, ensure_ascii=False) for record in records).encode()


CSV_HEADER = "id,name,aliases,type,birthDate,countries,topics\n"


def upload_list(
    organisation: Organisation, content: bytes, *, name: str = "Sanctions", filename: str = "l.ftm"
) -> Watchlist:
    """Upload and import (the test task backend runs the job at once)."""
    watchlist = watchlist_upload(
        organisation=organisation, name=name, file=SimpleUploadedFile(filename, content)
    )
    watchlist.refresh_from_db()
    return watchlist


SANCTIONS = ftm_lines(
    ftm(
        "ru-petrov",
        "Person",
        ["Сергей Иванович Петров"],
        birthDate=["1970-05-12"],
        nationality=["ru"],
        topics=["sanction"],
    ),
    ftm("ru-romashka", "Company", ["ООО Ромашка"], jurisdiction=["ru"], topics=["sanction"]),
    ftm("gr-papa", "Person", ["Γιώργος Παπαδόπουλος"], topics=["role.pep"]),
    {"id": "sanction-1", "schema": "Sanction", "properties": {"entity": ["ru-petrov"]}},
)


def screening_hit_for(customer: Customer) -> ScreeningHit:
    """A hit of `customer` on an entry of a (completed) list of its organisation."""
    watchlist = Watchlist.objects.create(
        organisation=customer.organisation,
        name="Fixture list",
        version=1,
        status=WatchlistStatus.COMPLETED,
        entry_count=1,
    )
    entry = WatchlistEntry.objects.create(
        watchlist=watchlist,
        source_id="fixture-1",
        schema="Person",
        name=customer.name,
        digest="d" * 32,
        version=1,
    )
    return ScreeningHit.objects.create(
        organisation=customer.organisation,
        customer=customer,
        party=customer,
        role="SELF",
        entry=entry,
        score=0.9,
        explanation={"nameScore": 0.9},
        entry_digest=entry.digest,
    )
