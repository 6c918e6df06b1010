"""Writes of watchlists: accept an upload (a background job), import a version, delete."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from imports.sql import copy_rows
from kycregistry import events, jobs
from organisations.audit import Channel, audit_context, current_actor
from organisations.models import ApiKey, Organisation
from screening.index import entry_keys, entry_subject
from screening.models import (
    ScreeningHit,
    Watchlist,
    WatchlistEntry,
    WatchlistKey,
    WatchlistStatus,
)
from screening.parsers import Record, WatchlistRejected, max_bytes, parse_watchlist

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

UNEXPECTED = "The import failed unexpectedly and nothing was changed; the error was logged"
BUSY = "Watchlist {name} is being imported; wait until its job ends"
BATCH = 5000
ENTRY_FIELDS = ["schema", "name", "aliases", "birth_dates", "countries", "topics", "digest"]
ENTRY_FIELDS += ["version"]
KEY_COLUMNS = ("watchlist_id", "entry_id", "key", "name_tokens")


def watchlist_upload(
    *,
    organisation: Organisation,
    name: str,
    file: UploadedFile,
    user: "AbstractBaseUser | None" = None,
    api_key: ApiKey | None = None,
) -> Watchlist:
    """Store the file and queue its import as the next version of the organisation's
    list `name` (created when new). ValidationError: no name, file too large, or the
    list has an import running."""
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "This field is required."})
    if len(name) > 200:
        raise ValidationError({"name": "At most 200 characters."})
    size = file.size or 0
    if size > max_bytes():
        raise ValidationError(
            {"file": f"The file is too large: {size} bytes (at most {max_bytes()})"}
        )
    for previous in Watchlist.objects.filter(organisation=organisation, name=name):
        jobs.recover_expired(previous)  # a dead worker's import is restarted, not waited for
    with transaction.atomic():
        watchlist, created = Watchlist.objects.select_for_update().get_or_create(
            organisation=organisation, name=name
        )
        if not created and not watchlist.is_finished:
            raise ValidationError({"file": BUSY.format(name=name)})
        watchlist.status = WatchlistStatus.QUEUED
        watchlist.message = ""
        watchlist.attempt = 1
        watchlist.started_at = watchlist.finished_at = watchlist.lease_expires_at = None
        watchlist.task_id = ""
        watchlist.file_name = (Path(file.name or "").name or "watchlist")[:255]
        watchlist.uploaded_by = user if user is not None and user.is_authenticated else None  # type: ignore[assignment]
        watchlist.api_key = api_key
        watchlist.file.save("watchlist.dat", file, save=False)
        watchlist.save()
    jobs.enqueue(watchlist)
    watchlist.refresh_from_db()
    return watchlist


def watchlist_delete(*, watchlist: Watchlist) -> None:
    """Delete the list, its entries and the hits on them (their history stays); the
    customers who had hits are rescored."""
    with transaction.atomic():
        holders = _hit_holders(ScreeningHit.objects.filter(entry__watchlist=watchlist))
        if watchlist.file:
            watchlist.file.delete(save=False)
        watchlist.delete()
        _announce_removed(watchlist.organisation_id, holders)


def _hit_holders(hits: QuerySet[ScreeningHit]) -> set[int]:
    return set(hits.values_list("customer_id", flat=True).distinct())


def _announce_removed(organisation_id: Any, customer_ids: set[int]) -> None:
    if customer_ids:
        channel, actor_id = events.actor_names(current_actor())
        events.announce(
            events.ScreeningHitsRemoved(
                organisation_id=organisation_id,
                customer_ids=frozenset(customer_ids),
                channel=channel,
                actor_id=actor_id,
            )
        )


def _entry_fields(record: Record, version: int) -> dict[str, Any]:
    return {
        "schema": record.schema,
        "name": record.name[:500],
        "aliases": list(record.aliases),
        "birth_dates": list(record.birth_dates),
        "countries": list(record.countries),
        "topics": list(record.topics),
        "digest": record.digest,
        "version": version,
    }


def _write_keys(entries: list[WatchlistEntry]) -> None:
    """The candidate index rows of `entries` (COPY on PostgreSQL: an entry has a dozen
    key rows or more)."""
    rows: list[tuple[int, int, str, int]] = []
    for entry in entries:
        keys, fewest = entry_keys(entry_subject(entry))
        rows.extend((entry.watchlist_id, entry.pk, key, fewest) for key in sorted(keys))
    if connection.vendor == "postgresql":
        copy_rows(WatchlistKey._meta.db_table, KEY_COLUMNS, rows)
        return
    WatchlistKey.objects.bulk_create(
        [WatchlistKey(watchlist_id=w, entry_id=e, key=k, name_tokens=n) for w, e, k, n in rows],
        batch_size=BATCH,
    )


def watchlist_import_run(*, watchlist_id: int, task_id: str = "") -> None:
    """The background job: parse the stored file and make it the list's next version.
    Entries keep their identity by source id: new ones are added, those whose content
    changed are updated (their hits may reopen), missing ones are removed. All in one
    transaction: a failed job changes nothing. The job holds a lease while it runs
    (kycregistry/jobs.py): if its worker dies, recovery restarts it. Monitored
    customers are then screened against the added and changed entries."""
    lease = jobs.claim(Watchlist, watchlist_id, task_id=task_id)
    if lease is None:
        return  # another worker has it, it ran already, or it was given up
    watchlist = Watchlist.objects.select_related("uploaded_by", "api_key").get(pk=watchlist_id)
    try:
        with jobs.heartbeat(lease):
            with watchlist.file.open("rb") as stream:
                parsed = parse_watchlist(stream)
            _write_version(
                watchlist=watchlist, parsed_records=parsed.records, parsed=parsed, lease=lease
            )
    except jobs.LeaseLost:
        logger.warning("Watchlist import %s attempt %s was taken over", watchlist_id, lease.attempt)
    except WatchlistRejected as exc:
        lease.fail(exc.message)
    except Exception:
        logger.exception("Watchlist import %s failed", watchlist_id)
        lease.fail(UNEXPECTED)
    else:
        lease.release()
        _settle_index()


def _settle_index() -> None:
    """PostgreSQL: mark the new key rows visible to all in the visibility map (and
    refresh the planner's statistics), so that candidate queries read the covering
    index only; autovacuum would do it later. VACUUM skips the pages already marked,
    so the cost is that of the rows just written."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {WatchlistKey._meta.db_table}")


def _write_version(
    *,
    watchlist: Watchlist,
    parsed_records: dict[str, Record],
    parsed: Any,
    lease: jobs.Lease | None = None,
) -> None:
    from screening.tasks import screen_watchlist_version

    version = watchlist.version + 1
    with (
        audit_context(
            channel=Channel.API if watchlist.api_key_id else Channel.ADMIN,
            user=watchlist.uploaded_by,
            api_key=watchlist.api_key,
        ),
        transaction.atomic(),
    ):
        existing = dict(
            WatchlistEntry.objects.filter(watchlist=watchlist).values_list("source_id", "digest")
        )
        added = [sid for sid in parsed_records if sid not in existing]
        changed = [
            sid
            for sid, record in parsed_records.items()
            if sid in existing and existing[sid] != record.digest
        ]
        removed = [sid for sid in existing if sid not in parsed_records]
        holders: set[int] = set()
        for start in range(0, len(removed), BATCH):
            gone = WatchlistEntry.objects.filter(
                watchlist=watchlist, source_id__in=removed[start : start + BATCH]
            )
            holders |= _hit_holders(ScreeningHit.objects.filter(entry__in=gone))
            gone.delete()
        _announce_removed(watchlist.organisation_id, holders)
        for start in range(0, len(changed), BATCH):
            chunk = changed[start : start + BATCH]
            entries = list(WatchlistEntry.objects.filter(watchlist=watchlist, source_id__in=chunk))
            for entry in entries:
                for name, value in _entry_fields(parsed_records[entry.source_id], version).items():
                    setattr(entry, name, value)
            WatchlistEntry.objects.bulk_update(entries, ENTRY_FIELDS)
            WatchlistKey.objects.filter(entry__in=entries).delete()
            _write_keys(entries)
        for start in range(0, len(added), BATCH):
            entries = WatchlistEntry.objects.bulk_create(
                [
                    WatchlistEntry(
                        watchlist=watchlist,
                        source_id=sid,
                        **_entry_fields(parsed_records[sid], version),
                    )
                    for sid in added[start : start + BATCH]
                ],
                batch_size=BATCH,
            )
            _write_keys(entries)
        message = ""
        if parsed.error_count:
            message = f"{parsed.error_count} line(s) could not be read and were skipped"
        if lease is not None:
            lease.check()  # on PostgreSQL: recovery waits for this transaction
        watchlist.version = version
        watchlist.status = WatchlistStatus.COMPLETED
        watchlist.finished_at = timezone.now()
        watchlist.entry_count = len(parsed_records)
        watchlist.added_count = len(added)
        watchlist.changed_count = len(changed)
        watchlist.removed_count = len(removed)
        watchlist.skipped_count = parsed.skipped
        watchlist.line_errors = parsed.errors
        watchlist.message = message
        watchlist.save()
    if added or changed:
        screen_watchlist_version.enqueue(
            organisation_id=str(watchlist.organisation_id),
            watchlist_id=watchlist.pk,
            version=version,
        )
