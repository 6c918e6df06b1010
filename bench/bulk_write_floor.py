"""What PostgreSQL alone needs to store a fresh bulk import's rows, beside an openpyxl parse.

Generates the bench file of bench/bulk_upload.py, times its openpyxl read-only parse,
then runs a fresh import recording every COPY the importer sends (customers,
connections and their history rows) and where each batch commits. The same COPY texts
are then sent again, in the same transactions, into empty copies of those tables (the
same columns, indexes, checks and foreign keys): the writes and the commits' deferred
foreign-key checks, and nothing of the importer's own work (reading the file,
validation, the lookups, the job's checkpoints, the events). No import, however its
Python is written or its parts overlap, stores these rows in less than this replay's
PostgreSQL CPU, or less than (its CPU + the reader's) / cores of wall time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kyc_bench_floor \
        .venv/bin/python bench/bulk_write_floor.py --rows 100000
"""

import argparse
import re
import sys
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bulk_upload import CpuClock, generate, new_organisation, read_openpyxl, timed
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

FLOOR = "floor_"


class Recorder:
    """The COPYs of the thread that writes the import's batches, and its commits, in
    order: ("copy", table, columns, text) and ("commit",)."""

    def __init__(self) -> None:
        self.events: dict[int, list[tuple[Any, ...]]] = {}
        self._patch()

    def _patch(self) -> None:
        from imports.writer import PostgresBackend

        copy, commit = PostgresBackend._copy, BaseDatabaseWrapper.commit
        recorder = self

        def recorded_copy(self, table: str, columns: list[str], lines: Iterable[str]) -> None:  # type: ignore[no-untyped-def]
            text = "".join(lines)
            recorder._add(("copy", table.strip('"'), columns, text))
            copy(self, table, columns, [text])

        def recorded_commit(self):  # type: ignore[no-untyped-def]
            commit(self)
            recorder._add(("commit",))

        PostgresBackend._copy = recorded_copy  # type: ignore[method-assign]
        BaseDatabaseWrapper.commit = recorded_commit  # type: ignore[method-assign]

    def _add(self, event: tuple[Any, ...]) -> None:
        self.events.setdefault(threading.get_ident(), []).append(event)

    def writes(self) -> list[tuple[Any, ...]]:
        """The events of the thread that sent the COPYs (the writer thread)."""
        (events,) = [e for e in self.events.values() if any(x[0] == "copy" for x in e)]
        return events


def create_floor_tables(tables: list[str]) -> None:
    """Empty copies of `tables` with their indexes, checks and foreign keys (a key to
    one of `tables` points at its copy)."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'CREATE TABLE "{FLOOR}{table}" (LIKE "{table}" INCLUDING ALL)')
        for table in tables:
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f'",
                [table],
            )
            for name, definition in cursor.fetchall():
                for target in tables:
                    definition = re.sub(
                        rf"REFERENCES {target}\(", f"REFERENCES {FLOOR}{target}(", definition
                    )
                cursor.execute(
                    f'ALTER TABLE "{FLOOR}{table}" ADD CONSTRAINT "{FLOOR}{name}" {definition}'
                )


def drop_floor_tables(tables: list[str]) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'DROP TABLE IF EXISTS "{FLOOR}{table}" CASCADE')


def replay(events: list[tuple[Any, ...]]) -> tuple[int, int]:
    """Send the recorded COPYs into the copies, committing where the import did;
    returns (COPYs, commits)."""
    copies = commits = 0
    connection.set_autocommit(False)
    try:
        with connection.cursor() as cursor:
            for event in events:
                if event[0] == "commit":
                    connection.commit()
                    commits += 1
                    continue
                _, table, columns, text = event
                names = ", ".join(f'"{c}"' for c in columns)
                with cursor.copy(f'COPY "{FLOOR}{table}" ({names}) FROM STDIN') as copy:
                    copy.write(text)
                copies += 1
        connection.commit()
    finally:
        connection.set_autocommit(True)
    return copies, commits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("The write floor is PostgreSQL's: set DATABASE_URL to a PostgreSQL database.")
        return
    call_command("migrate", verbosity=0)

    from imports.models import BulkUpload
    from imports.services import bulk_upload_create, bulk_upload_run

    with tempfile.TemporaryDirectory() as tmp:
        settings.MEDIA_ROOT = tmp
        path = Path(tmp) / "bench.xlsx"
        connections, _ = timed(f"generate {args.rows} rows", lambda: generate(path, args.rows))
        print(f"file: {args.rows} rows, {connections} connections")
        cpu = CpuClock()
        cpu.start()
        _, t_openpyxl = timed("parse: openpyxl read_only=True", lambda: read_openpyxl(path))
        cpu.report()

        recorder = Recorder()
        upload = bulk_upload_create(
            organisation=new_organisation("w"),
            file=SimpleUploadedFile("bench.xlsx", path.read_bytes()),
        )
        cpu.start()
        _, t_fresh = timed(
            "import, fresh (upload → completed)", lambda: bulk_upload_run(upload_id=upload.pk)
        )
        cpu.report()
        assert BulkUpload.objects.get(pk=upload.pk).status == "completed"

    events = recorder.writes()
    tables = sorted({e[1] for e in events if e[0] == "copy"})
    sizes: dict[str, int] = {}
    for event in events:
        if event[0] == "copy":
            sizes[event[1]] = sizes.get(event[1], 0) + event[3].count("\n")
    for table in tables:
        print(f"    {table:<40} {sizes[table]:>9,} rows")
    drop_floor_tables(tables)
    create_floor_tables(tables)
    try:
        cpu.start()
        (copies, commits), t_floor = timed(
            "replay: the same COPYs and commits", lambda: replay(events)
        )
        cpu.report()
    finally:
        drop_floor_tables(tables)
    print(f"    ({copies} COPYs in {commits} transactions)")
    print(
        f"ratios:  write floor / openpyxl read = {t_floor / t_openpyxl:.2f}; "
        f"fresh import / openpyxl read = {t_fresh / t_openpyxl:.2f}; "
        f"fresh import / write floor = {t_fresh / t_floor:.2f}"
    )


if __name__ == "__main__":
    main()
