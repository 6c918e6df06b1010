"""Benchmark: rescoring the whole book after a rules change, against the floor; and the
risk profile read against a customer detail read. All figures from one run.

    createdb -h 127.0.0.1 -U postgres kyc_risk_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kyc_risk_bench \\
        .venv/bin/python bench/risk.py --customers 100000

1. Migrates the configured database and builds, in a fresh organisation, `--customers`
   customers: a third companies, each held by two persons (30–60% each) with a person
   director; sessions (1–3, mixed statuses) on half of all customers; countries drawn
   so every level occurs. Written with bulk_create (no history rows); then every
   customer is scored once (the whole-book job, as after a first rules change).
2. `--rounds` times, interleaved: (a) the whole-book rescoring after a rules change
   (`PUT /risk-rules`'s job, run in this process: batches of reads, factors in Python,
   COPY + one UPDATE per batch, history rows for level changes, the propagation to
   connected parties), alternating between two rule sets so levels really move; and
   (b) the floor: one plain `UPDATE … SET risk_score = risk_score` of the same rows,
   committed (PostgreSQL writes a new version of every row all the same).
   Goal: a ≤ 5 × b.
3. In-process (Django's test client, the full middleware and DRF stack), for 50
   customers: (c) GET /customers/{ref}/risk-profile and (d) GET /customers/{ref},
   interleaved; medians, and the SQL queries per request. Goal: c ≤ 2 × d, constant
   queries.

`--cleanup` deletes the benchmark organisation's rows afterwards.
"""

import argparse
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kycregistry.settings.base")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from customers.models import AccountType, Customer  # noqa: E402
from kyc.models import RiskRescoring, RiskRules, Session, SessionStatus  # noqa: E402
from kyc.rules import DEFAULT_RULES, clean_rules  # noqa: E402
from kyc.services import rescoring_run  # noqa: E402
from organisations.models import ApiKey, Organisation, Scope  # noqa: E402
from organisations.services import api_key_create  # noqa: E402
from relations.models import Connection, Role  # noqa: E402

BATCH = 5000
COUNTRIES = ["GB"] * 10 + ["DE"] * 6 + ["FR"] * 6 + ["US"] * 4 + ["SY", "IR", "VE"]
STATUSES = [SessionStatus.APPROVED] * 5 + [
    SessionStatus.DECLINED,
    SessionStatus.REVIEW,
    SessionStatus.IN_PROGRESS,
]
# Two rule sets the rounds alternate between: a declined session weighs 15 points (the
# default) or 30 (at most 60), which moves the level of a few percent of the book.
RULES_A = clean_rules(DEFAULT_RULES)
RULES_B = clean_rules({**DEFAULT_RULES, "declinedSession": 30, "declinedSessionMax": 60})


def build(n: int, seed: int) -> tuple[Organisation, list[int]]:
    rng = random.Random(seed)
    stamp = time.strftime("%Y%m%d%H%M%S")
    org = Organisation.objects.create(name=f"Risk bench {stamp}", slug=f"risk-bench-{stamp}")
    n_companies = n // 3
    started = time.perf_counter()
    rows = []
    for i in range(n):
        is_company = i < n_companies
        rows.append(
            Customer(
                organisation=org,
                reference_id=f"C{i:07d}" if is_company else f"P{i:07d}",
                name=f"Company {i} Ltd" if is_company else f"Person {i}",
                account_type=AccountType.COMPANY if is_company else AccountType.PERSON,
                client_number=str(10_000_000 + i),
                country=rng.choice(COUNTRIES),
                address={"country": rng.choice(COUNTRIES)} if is_company else {},
                custom_fields={},
            )
        )
    Customer.objects.bulk_create(rows, batch_size=BATCH)
    ids = list(
        Customer.objects.filter(organisation=org).order_by("pk").values_list("pk", flat=True)
    )
    companies, persons = ids[:n_companies], ids[n_companies:]
    links = []
    for company in companies:
        a, b, director = rng.sample(persons, 3)
        links.append(
            Connection(
                organisation=org,
                customer_id=company,
                connected_customer_id=a,
                role=Role.SHAREHOLDER,
                ownership_percentage=Decimal(rng.randint(30, 60)),
            )
        )
        links.append(
            Connection(
                organisation=org,
                customer_id=company,
                connected_customer_id=b,
                role=Role.SHAREHOLDER,
                ownership_percentage=Decimal(rng.randint(5, 40)),
            )
        )
        links.append(
            Connection(
                organisation=org,
                customer_id=company,
                connected_customer_id=director,
                role=Role.DIRECTOR,
            )
        )
    Connection.objects.bulk_create(links, batch_size=BATCH)
    sessions = []
    for pk in rng.sample(ids, n // 2):
        for _ in range(rng.randint(1, 3)):
            sessions.append(Session(organisation=org, customer_id=pk, status=rng.choice(STATUSES)))
    Session.objects.bulk_create(sessions, batch_size=BATCH)
    with connection.cursor() as cursor:
        for table in ("customers_customer", "relations_connection", "kyc_session"):
            cursor.execute(f"ANALYZE {table}")
    print(
        f"built {n} customers ({n_companies} companies), {len(links)} connections, "
        f"{len(sessions)} sessions in {time.perf_counter() - started:.1f} s"
    )
    return org, ids


def rescore_whole_book(org: Organisation, rules: dict) -> tuple[float, RiskRescoring]:
    """What PUT /risk-rules queues, run here: a new version and its rescoring job."""
    with transaction.atomic():
        latest = RiskRules.objects.filter(organisation=org).order_by("-version").first()
        version = (latest.version if latest else 0) + 1
        RiskRules.objects.create(organisation=org, version=version, rules=rules)
        job = RiskRescoring.objects.create(
            organisation=org,
            rules_version=version,
            total=Customer.objects.filter(organisation=org).count(),
        )
    started = time.perf_counter()
    rescoring_run(job_id=job.pk)
    elapsed = time.perf_counter() - started
    job.refresh_from_db()
    assert job.status == "completed", (job.status, job.message)
    return elapsed, job


def floor(org: Organisation) -> float:
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            # The same value back: PostgreSQL still writes a new version of every row,
            # and the scores the rescoring compares against stay as they were.
            "UPDATE customers_customer SET risk_score = risk_score WHERE organisation_id = %s",
            [org.pk],
        )
    return time.perf_counter() - started


def timed_get(client: Client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.content[:200]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--cleanup", action="store_true")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor} {connection.settings_dict.get('NAME')}")
    org, ids = build(args.customers, args.seed)
    first, job = rescore_whole_book(org, RULES_A)
    print(f"first scoring of every customer: {first:.2f} s")
    levels = dict(
        Customer.objects.filter(organisation=org)
        .values_list("risk_level")
        .annotate(n=django.db.models.Count("id"))
        .values_list("risk_level", "n")
    )
    print(f"levels: {levels}")

    rescoring, floors, changed = [], [], []
    for round_ in range(args.rounds):
        floors.append(floor(org))
        elapsed, job = rescore_whole_book(org, RULES_B if round_ % 2 == 0 else RULES_A)
        rescoring.append(elapsed)
        changed.append(job.changed_levels)
    median_a, median_b = statistics.median(rescoring), statistics.median(floors)
    print(
        f"(a) whole-book rescoring  n={args.rounds}  median {median_a:6.2f} s  "
        f"runs {', '.join(f'{t:.2f}' for t in rescoring)}  (levels changed: {changed})"
    )
    print(
        f"(b) floor: one UPDATE     n={args.rounds}  median {median_b:6.2f} s  "
        f"runs {', '.join(f'{t:.2f}' for t in floors)}"
    )
    print(f"ratio a/b (median): {median_a / median_b:.2f}  (goal ≤ 5)")

    _api_key, raw = api_key_create(organisation=org, scopes=[Scope.KYC_READ], name="bench")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    refs = list(
        Customer.objects.filter(pk__in=random.Random(args.seed).sample(ids, 50)).values_list(
            "reference_id", flat=True
        )
    )
    for ref in refs[:5]:  # warm up (and write lastUsedAt)
        timed_get(client, f"/api/v1/customers/{ref}/risk-profile")
        timed_get(client, f"/api/v1/customers/{ref}")
    profile_times, detail_times = [], []
    for _ in range(4):
        for ref in refs:
            profile_times.append(timed_get(client, f"/api/v1/customers/{ref}/risk-profile"))
            detail_times.append(timed_get(client, f"/api/v1/customers/{ref}"))
    median_c = statistics.median(profile_times) * 1000
    median_d = statistics.median(detail_times) * 1000
    print(f"(c) GET .../risk-profile   n={len(profile_times)}  median {median_c:6.2f} ms")
    print(f"(d) GET .../customers/ref  n={len(detail_times)}  median {median_d:6.2f} ms")
    print(f"ratio c/d (median): {median_c / median_d:.2f}  (goal ≤ 2)")
    counts = set()
    for ref in refs[:10]:
        with CaptureQueriesContext(connection) as queries:
            timed_get(client, f"/api/v1/customers/{ref}/risk-profile")
        counts.add(len(queries))
    with CaptureQueriesContext(connection) as queries:
        timed_get(client, f"/api/v1/customers/{refs[0]}")
    print(f"SQL queries per request: risk-profile {sorted(counts)}, customer detail {len(queries)}")

    if args.cleanup:
        Session.objects.filter(organisation=org)._raw_delete(connection.alias)
        Connection.objects.filter(organisation=org)._raw_delete(connection.alias)
        Customer.history.filter(organisation=org)._raw_delete(connection.alias)
        Customer.objects.filter(organisation=org)._raw_delete(connection.alias)
        RiskRescoring.objects.filter(organisation=org).delete()
        RiskRules.objects.filter(organisation=org).delete()
        ApiKey.objects.filter(organisation=org).delete()
        org.delete()
        print("benchmark organisation deleted")


if __name__ == "__main__":
    main()
