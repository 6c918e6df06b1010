"""Bulk upload benchmark, all figures from one run.

Generates an .xlsx of N customers (a third companies with 1-3 connections each, many
pointing further down the file), then times, against the configured database
(DATABASE_URL; a fresh organisation each run):

- reading the file with openpyxl read_only=True (the bar to beat), and with calamine;
- the import from upload to `completed` (guards, stored file, reader child, validation,
  bulk writes with history), then the same file again (every row unchanged), each with
  the time spent in its main phases (a phase may contain the ones indented below it;
  scanning the sheet runs while the reader child works), and the CPU time the worker,
  its reader children and PostgreSQL spent (their sum over the cores is the shortest
  the import could take on this machine, however well its parts overlap).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kyc_bench_bulk \
        .venv/bin/python bench/bulk_upload.py --rows 100000
"""

import argparse
import functools
import importlib
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kycregistry.settings.base")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django
from django.conf import settings

# The bench is the worker: it runs the upload's job itself, and then, timed apart, the
# follow-up tasks the job queued (risk scoring of the new customers), as db_worker would
# run them after the job. Set before the apps load, which may look the backend up.
settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
django.setup()
# Timed as a production worker runs: with DEBUG, Django would keep the last 9,000
# queries with their parameters (thousands of referenceIds each) and format each one.
settings.DEBUG = False

from django.tasks import task_backends  # noqa: E402
from django.tasks.backends.dummy import DummyBackend  # noqa: E402

# Each thread has its own backend instance (the import's writer thread queues the
# follow-up tasks): they all keep their tasks in one list here.
_queued: list = []
_dummy_init = DummyBackend.__init__


def _shared_results(self, alias, params):  # type: ignore[no-untyped-def]
    _dummy_init(self, alias, params)
    self.results = _queued


DummyBackend.__init__ = _shared_results  # type: ignore[method-assign]
task_backends["default"].results = _queued  # made while the apps loaded

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402
from openpyxl import Workbook, load_workbook  # noqa: E402

ROLES_FOR_PERSON = ["DIRECTOR", "SHAREHOLDER", "UBO", "AUTHORIZED_PERSON"]
GIVEN = ["Anna", "Bernhard", "Chiara", "Dmitri", "Elif", "François", "Grete", "Hiroshi"]
SURNAMES = ["Andersen", "Bianchi", "Castillo", "Dubois", "Eriksson", "Fischer", "García"]
COMPANY_WORDS = ["Holdings", "Capital", "Trading", "Logistics", "Ventures", "Partners"]
SEGMENTS = ["retail", "private banking", "small business", "corporate"]


def generate(path: Path, rows: int, seed: int = 7) -> int:
    """Returns the number of connections in the file."""
    rng = random.Random(seed)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Customers")
    # 4 columns + connects (here the 4th is a custom field).
    sheet.append(["name", "referenceId", "accountTypeId", "segment", "connects"])
    connections = 0
    for i in range(rows):
        company = i % 3 == 0
        connects = None
        if company:
            targets = set()
            while len(targets) < rng.randint(1, 3):
                j = rng.randrange(rows)
                if j != i:
                    targets.add(j)
            items = []
            for j in sorted(targets):
                if j % 3 == 0:
                    items.append(
                        {
                            "referenceId": f"CUS-{j:07d}",
                            "role": "SHAREHOLDER",
                            "ownershipPercentage": "20",
                        }
                    )
                else:
                    role = rng.choice(ROLES_FOR_PERSON)
                    item = {"referenceId": f"CUS-{j:07d}", "role": role}
                    if role in ("SHAREHOLDER", "UBO"):
                        item["ownershipPercentage"] = "25.5"
                    items.append(item)
            connections += len(items)
            connects = json.dumps(items)
        if company:
            name = f"{rng.choice(SURNAMES)} {rng.choice(COMPANY_WORDS)} {i} Limited"
        else:
            name = f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)}-{i}"
        segment = rng.choice(SEGMENTS)
        sheet.append([name, f"CUS-{i:07d}", 2 if company else 1, segment, connects])
    workbook.save(path)
    return connections


def timed(label: str, fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    print(f"{label:<44} {elapsed:8.2f} s", flush=True)
    return result, elapsed


def read_openpyxl(path: Path) -> int:
    workbook = load_workbook(path, read_only=True)
    count = sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    return count


def read_calamine(path: Path) -> int:
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    return sum(1 for _ in sheet.iter_rows())


PHASES = [
    ("read: wait for the scan of the sheet XML", "imports.reader", "Scanning.verdict"),
    ("read: wait for the child to read the sheet", "imports.reader", "Reading.header"),
    ("read: the file's index (every referenceId)", "imports.reader", "Reading.index"),
    ("read: every frame from the child (incl. above)", "imports.reader", "Reading._frame"),
    ("committed batches", "imports.services", "_Run._batch"),
    ("  plan (validate the rows and connections)", "imports.importer", "Importer.plan"),
    ("    cells to rows", "imports.importer", "Importer.rows"),
    ("    stored customers (every read)", "imports.importer", "Importer._read"),
    ("    connection checks", "imports.importer", "Importer._check_connections"),
    ("    connections due (checks, stored ones)", "imports.importer", "Importer.plan_links"),
    ("  write the customers", "imports.writer", "PlanWriter.write"),
    ("    customers created", "imports.writer", "PlanWriter._create_customers"),
    ("    customers updated", "imports.writer", "PlanWriter._update_customers"),
    ("  write the connections", "imports.writer", "LinkWriter.write"),
    ("  checkpoint (job row)", "imports.services", "_Run._save"),
    ("rows an earlier attempt committed (resume)", "imports.importer", "Importer.resume"),
    ("history rows (within the writes)", "imports.writer", "PostgresBackend.history"),
    ("completion", "imports.services", "_Run.complete"),
    (
        "commits (deferred foreign key checks)",
        "django.db.backends.base.base",
        "BaseDatabaseWrapper.commit",
    ),
]


class PhaseClock:
    """Wall time per phase of the import, by wrapping the functions named in PHASES
    (all called a few times per import, so the wrapping costs nothing measurable)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        for label, module_name, attribute in PHASES:
            owner: object = importlib.import_module(module_name)
            *path, name = attribute.split(".")
            for part in path:
                owner = getattr(owner, part)
            setattr(owner, name, self._timed(label, getattr(owner, name)))

    def _timed(self, label: str, fn):  # type: ignore[no-untyped-def]
        @functools.wraps(fn)
        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[label] = self.spent.get(label, 0.0) + time.perf_counter() - start
                self.calls[label] = self.calls.get(label, 0) + 1

        return timed

    def report(self) -> None:
        for label, _, _ in PHASES:
            if label in self.spent:
                calls = self.calls[label]
                each = f"{calls:4d} × {self.spent[label] / calls * 1000:7.1f} ms"
                print(f"    {label:<48} {self.spent[label]:8.2f} s  {each}")
        self.spent.clear()
        self.calls.clear()


def postgres_cpu() -> float | None:
    """CPU seconds of the PostgreSQL server on this machine so far: its live processes,
    and the backends that have exited (counted in the postmaster's children). None when
    no server process is visible here."""
    tick = os.sysconf("SC_CLK_TCK")
    total, seen = 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, _, rest = text.partition(") ")
        if not name.endswith("(postgres"):
            continue
        fields = rest.split()  # fields[0] is the state; utime is field 14 of the file
        seen = True
        total += int(fields[11]) + int(fields[12])
        if not Path(f"/proc/{fields[1]}/stat").read_text().split(") ")[0].endswith("(postgres"):
            total += int(fields[13]) + int(fields[14])  # the postmaster: its reaped children
    return total / tick if seen else None


class CpuClock:
    """CPU seconds spent between `start()` and `report()`: by the worker (every thread of
    this process), by the reader children it waited for, and by PostgreSQL. On a machine
    of N cores no schedule ends before their sum / N."""

    def start(self) -> None:
        self.before = (os.times(), postgres_cpu())

    def report(self) -> None:
        (times, pg_before), now = self.before, os.times()
        worker = now.user + now.system - times.user - times.system
        children = (
            now.children_user + now.children_system - times.children_user - times.children_system
        )
        pg_after = postgres_cpu()
        pg = None if pg_before is None or pg_after is None else pg_after - pg_before
        total = worker + children + (pg or 0)
        shown = "n/a" if pg is None else f"{pg:.2f} s"
        cores = os.cpu_count() or 1
        print(
            f"    CPU: worker {worker:.2f} s, reader children {children:.2f} s, PostgreSQL "
            f"{shown}; {total:.2f} s in all = {total / cores:.2f} s on {cores} cores at best"
        )


def peak_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def run_job(upload_id: int, media: str) -> None:
    """`--run-job`: be the worker of one upload (in a process the bench may kill), then
    print this process's peak memory."""
    from imports.services import bulk_upload_run

    settings.MEDIA_ROOT = media
    bulk_upload_run(upload_id=upload_id)
    print(f"worker peak RSS {peak_mib(resource.RUSAGE_SELF):.0f} MiB", flush=True)


def worker_process(upload_id: int, media: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, __file__, "--run-job", str(upload_id), "--media", media],
        stdout=subprocess.PIPE,
        text=True,
    )


def new_organisation(suffix: str):  # type: ignore[no-untyped-def]
    from customers.models import CustomerFieldDefinition
    from organisations.services import organisation_create

    stamp = time.strftime("%Y%m%d%H%M%S") + suffix
    organisation = organisation_create(name=f"Bench {stamp}", slug=f"bench-{stamp}")
    CustomerFieldDefinition.objects.create(
        organisation=organisation, key="segment", name="Segment", field_type="text"
    )
    return organisation


def resume_after_kill(content: bytes, media: str, rows: int) -> tuple[float, float, int, int]:
    """A fresh import in a worker process killed with SIGKILL once half the rows are
    committed; then the restarted job (recovery, attempt 2) timed to `completed` in
    this process. Returns (seconds until the kill, seconds of the resumed attempt,
    rows and connections committed at the kill)."""
    from imports.models import BulkUpload
    from imports.services import bulk_upload_create, bulk_upload_run
    from kycregistry import jobs
    from relations.models import Connection

    upload = bulk_upload_create(
        organisation=new_organisation("r"), file=SimpleUploadedFile("bench.xlsx", content)
    )
    start = time.perf_counter()
    process = worker_process(upload.pk, media)
    job = BulkUpload.objects.filter(pk=upload.pk)
    while job.values_list("committed_rows", flat=True).get() < rows // 2:
        assert process.poll() is None, "the worker ended before half the rows"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_after = time.perf_counter() - start
    committed = job.values_list("committed_rows", flat=True).get()
    # A row's connections are written with the last row they name: most of them wait
    # for the second half of a file whose references point anywhere in it.
    linked = Connection.objects.filter(organisation_id=upload.organisation_id).count()
    job.update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert jobs.recover() == 1
    start = time.perf_counter()
    bulk_upload_run(upload_id=upload.pk)
    resumed = time.perf_counter() - start
    done = job.get()
    assert (done.status, done.attempt, done.created_count) == ("completed", 2, rows), (
        done.status,
        done.message,
    )
    return killed_after, resumed, committed, linked


def worker_memory(path: Path, media: str) -> None:
    """`--memory`: an openpyxl parse, then a fresh import in a worker process of its
    own, and its peak RSS."""
    from imports.models import BulkUpload
    from imports.services import bulk_upload_create

    _, t_openpyxl = timed("parse: openpyxl read_only=True", lambda: read_openpyxl(path))
    upload = bulk_upload_create(
        organisation=new_organisation("m"),
        file=SimpleUploadedFile("bench.xlsx", path.read_bytes()),
    )
    (out, _), t_fresh = timed(
        "import, fresh, in a worker process", lambda: worker_process(upload.pk, media).communicate()
    )
    print(f"  {out.strip()}")
    done = BulkUpload.objects.get(pk=upload.pk)
    print(f"  {done.status}: created {done.created_count}, {done.message}")
    print(f"ratio:   fresh / openpyxl read = {t_fresh / t_openpyxl:.2f} (goal ≤ 1)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--memory",
        action="store_true",
        help="only an openpyxl parse and a fresh import in a worker process, with its peak memory",
    )
    parser.add_argument("--no-resume", action="store_true", help="skip the resume-after-kill run")
    parser.add_argument("--run-job", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--media", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_job:
        run_job(args.run_job, args.media)
        return

    call_command("migrate", verbosity=0)

    from imports.models import BulkUpload
    from imports.reader import read_rows
    from imports.services import bulk_upload_create, bulk_upload_run

    db = settings.DATABASES["default"]
    print(f"database: {db['ENGINE'].rsplit('.', 1)[-1]} {db.get('NAME')}")
    with tempfile.TemporaryDirectory() as tmp:
        settings.MEDIA_ROOT = tmp
        path = Path(tmp) / "bench.xlsx"
        connections, _ = timed(
            f"generate {args.rows} rows (openpyxl write-only)", lambda: generate(path, args.rows)
        )
        content = path.read_bytes()
        print(
            f"file: {len(content) / 1024 / 1024:.1f} MiB, {args.rows} rows, "
            f"{connections} connections"
        )

        if args.memory:
            worker_memory(path, tmp)
            return
        cpu = CpuClock()
        cpu.start()
        _, t_openpyxl = timed("parse: openpyxl read_only=True", lambda: read_openpyxl(path))
        cpu.report()
        _, t_calamine = timed("parse: calamine iter_rows (in process)", lambda: read_calamine(path))
        _, t_child = timed("parse: calamine child process + marshal", lambda: read_rows(path))

        organisation = new_organisation("")

        queued = _queued

        def run(into: Any = None) -> BulkUpload:
            upload = bulk_upload_create(
                organisation=into or organisation,
                file=SimpleUploadedFile("bench.xlsx", content),
            )
            bulk_upload_run(upload_id=upload.pk)
            upload.refresh_from_db()
            assert upload.status == "completed", (upload.status, upload.message)
            return upload

        def follow_up() -> int:
            """Run the tasks the job queued besides itself and job recovery."""
            tasks = [r for r in queued if r.task.name not in ("import_bulk_upload", "recover_jobs")]
            for result in tasks:
                result.task.call(*result.args, **result.kwargs)
            queued.clear()
            return len(tasks)

        clock = PhaseClock()
        cpu.start()
        fresh, t_fresh = timed("import, fresh (upload → completed)", run)
        cpu.report()
        clock.report()
        count, _ = timed("  then the worker's follow-up tasks (risk scoring)", follow_up)
        print(f"  ({count} follow-up tasks)")
        cpu.start()
        again, t_again = timed("import, same file again", run)
        cpu.report()
        clock.report()
        follow_up()
        if not args.no_resume:
            # The resumed attempt writes into a table that holds the runs above: it is
            # also compared with a fresh import into such a table.
            _, t_fuller = timed(
                "import, fresh, into a table holding the runs above",
                lambda: run(new_organisation("f")),
            )
            clock.report()
            follow_up()
            (killed_after, t_resume, committed, linked), _ = timed(
                "import killed -9 at 50%, then resumed",
                lambda: resume_after_kill(content, tmp, args.rows),
            )
            print(
                f"  killed after {killed_after:.2f} s with {committed} rows and {linked} of "
                f"{connections} connections committed; the resumed attempt:"
            )
            clock.report()
            follow_up()

    print(
        f"fresh:   created {fresh.created_count}, skipped {fresh.skipped_count}, "
        f"{args.rows / t_fresh:,.0f} rows/s"
    )
    print(
        f"again:   unchanged {again.unchanged_count}, updated {again.updated_count}, "
        f"{args.rows / t_again:,.0f} rows/s"
    )
    print(
        f"ratios:  fresh / openpyxl read = {t_fresh / t_openpyxl:.2f} (goal ≤ 1); "
        f"again / openpyxl read = {t_again / t_openpyxl:.2f} (goal ≤ 0.3)"
    )
    if not args.no_resume:
        print(
            "         resumed attempt after kill -9 at 50% / fresh = "
            f"{t_resume / t_fresh:.2f} (goal ≤ 0.6); "
            f"/ a fresh import into a table as full = {t_resume / t_fuller:.2f}"
        )
    print(
        f"         calamine is {t_openpyxl / t_calamine:.0f}x faster than openpyxl; "
        f"child process overhead {t_child - t_calamine:.2f} s"
    )
    print(
        f"peak memory: this process (worker) {peak_mib(resource.RUSAGE_SELF):.0f} MiB, "
        f"reader children {peak_mib(resource.RUSAGE_CHILDREN):.0f} MiB"
    )


if __name__ == "__main__":
    main()
