"""Benchmark: the ownership structure against a plain customer read, over HTTP.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kyc_bench \\
        .venv/bin/python bench/ownership.py --customers 100000

1. Migrates the configured database and builds, in a fresh organisation, a graph of
   `--customers` customers (a third companies). Companies sit on 9 levels; a company
   below the top level has three shareholders: one company of the next level up (the
   chain, 40–60%), and two more (5–25% each) that are companies of the next level with
   probability 1/3, persons otherwise; top-level companies are held by three persons.
   So a level-0 company has a structure 8 levels deep with a few hundred paths.
   Written with bulk_create (no history rows: this measures reads).
2. Starts gunicorn (one sync worker, the production WSGI app) on a free port against
   the same database, and times, for 20 level-0 targets and several rounds,
   (a) GET /api/v1/customers/{ref}/organization and (b) GET /api/v1/customers/{ref},
   interleaved, each over a new HTTP connection; and (c) the structure with
   `threshold=1`, whose answer lists many derived UBOs with their paths. Prints
   medians, p99 and the ratio a/b (goal: ≤ 3), and the SQL queries per request
   (counted in-process with Django's test client) for a shallow and a deep target.

`--cleanup` deletes the benchmark organisation's rows afterwards.
"""

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
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
from django.utils.timezone import localdate  # noqa: E402

from customers.models import AccountType, Customer  # noqa: E402
from organisations.models import ApiKey, Organisation, Scope  # noqa: E402
from organisations.services import api_key_create  # noqa: E402
from relations.models import Connection, Role  # noqa: E402
from relations.ownership.walk import fetch_walk_rows  # noqa: E402

HEAVY = "organization?threshold=1"  # a low threshold: many derived UBOs and paths
LEVELS = 9  # level 0 … 8: chains 8 shareholdings deep
BATCH = 2000


def build(n: int, seed: int) -> tuple[Organisation, str, list[str], str]:
    rng = random.Random(seed)
    stamp = time.strftime("%Y%m%d%H%M%S")
    org = Organisation.objects.create(name=f"Bench {stamp}", slug=f"bench-{stamp}")
    n_companies = n // 3
    n_persons = n - n_companies
    started = time.perf_counter()
    customers = []
    for i in range(n):
        is_company = i < n_companies
        ref = f"C{i:07d}" if is_company else f"P{i:07d}"
        customer = Customer(
            organisation=org,
            reference_id=ref,
            name=f"Company {i} Ltd" if is_company else f"Person {i}",
            account_type=AccountType.COMPANY if is_company else AccountType.PERSON,
            client_number=str(10_000_000 + i),
            risk_score=rng.randint(0, 100),
        )
        customer.search_text = customer.build_search_text()
        customers.append(customer)
    with transaction.atomic():
        Customer.objects.bulk_create(customers, batch_size=BATCH)
    ids = dict(
        Customer.objects.filter(organisation=org).values_list("reference_id", "id").iterator()
    )
    companies = [ids[f"C{i:07d}"] for i in range(n_companies)]
    persons = [ids[f"P{i:07d}"] for i in range(n_companies, n)]
    by_level = [companies[level::LEVELS] for level in range(LEVELS)]

    def holding(owned: int, holder: int, percentage: int) -> Connection:
        return Connection(
            organisation=org,
            customer_id=owned,
            connected_customer_id=holder,
            role=Role.SHAREHOLDER,
            ownership_percentage=Decimal(percentage),
        )

    rows = []
    for level, level_companies in enumerate(by_level):
        above = by_level[level + 1] if level + 1 < LEVELS else None
        for owned in level_companies:
            holders: list[tuple[int, int]] = []
            first = rng.choice(above) if above else rng.choice(persons)
            holders.append((first, rng.randint(40, 60)))
            for _ in range(2):
                if above and rng.random() < 1 / 3:
                    holder = rng.choice(above)
                else:
                    holder = rng.choice(persons)
                if holder not in {h for h, _p in holders}:
                    holders.append((holder, rng.randint(5, 20)))
            rows.extend(holding(owned, holder, pct) for holder, pct in holders)
    with transaction.atomic():
        Connection.objects.bulk_create(rows, batch_size=BATCH)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE customers_customer")
            cursor.execute("ANALYZE relations_connection")
    print(
        f"built {n:,} customers ({n_companies:,} companies, {n_persons:,} persons) and "
        f"{len(rows):,} shareholdings in {time.perf_counter() - started:.1f} s"
    )
    _key, raw = api_key_create(organisation=org, scopes=[Scope.KYC_READ], name="bench")
    targets = [Customer.objects.get(pk=pk).reference_id for pk in rng.sample(by_level[0], 20)]
    shallow = Customer.objects.get(pk=by_level[LEVELS - 2][0]).reference_id
    return org, raw, targets, shallow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DJANGO_DEBUG": "0"}
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "kycregistry.wsgi:application",
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            "/dev/null",
            "--error-logfile",
            "-",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def get(port: int, path: str, key: str) -> tuple[float, int, bytes]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers={"Authorization": f"Bearer {key}"})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return time.perf_counter() - started, response.status, body


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def queries_per_request(key: str, paths: list[str]) -> list[int]:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    client.get(paths[0])  # lastUsedAt is written on the first request only
    counts = []
    for path in paths:
        with CaptureQueriesContext(connection) as context:
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        counts.append(len(context))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--cleanup", action="store_true")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    org, key, targets, shallow = build(args.customers, args.seed)
    port = free_port()
    server = start_server(port)
    try:
        structure_times: list[float] = []
        detail_times: list[float] = []
        heavy_times: list[float] = []
        sizes = []
        for target in targets:  # warm-up round, not timed; checks the answers
            _t, status, body = get(port, f"/api/v1/customers/{target}/organization", key)
            assert status == 200, (status, body[:300])
            _t, status, body = get(port, f"/api/v1/customers/{target}/{HEAVY}", key)
            assert status == 200, (status, body[:300])
            data = json.loads(body)["data"]
            sizes.append(
                (len(data["derivedUbos"]), sum(len(u["paths"]) for u in data["derivedUbos"]))
            )
            _t, status, body = get(port, f"/api/v1/customers/{target}", key)
            assert status == 200, (status, body[:300])
        for _round in range(args.rounds):
            for target in targets:
                elapsed, _s, _b = get(port, f"/api/v1/customers/{target}/organization", key)
                structure_times.append(elapsed)
                elapsed, _s, _b = get(port, f"/api/v1/customers/{target}", key)
                detail_times.append(elapsed)
                elapsed, _s, _b = get(port, f"/api/v1/customers/{target}/{HEAVY}", key)
                heavy_times.append(elapsed)
    finally:
        server.terminate()
        server.wait(timeout=30)

    target_id = Customer.objects.get(organisation=org, reference_id=targets[0]).pk
    rows = fetch_walk_rows(organisation_id=org.pk, customer_id=target_id, as_of=localdate())
    deep = queries_per_request(
        key,
        [
            f"/api/v1/customers/{shallow}/{HEAVY}",
            f"/api/v1/customers/{targets[0]}/{HEAVY}",
            f"/api/v1/customers/{targets[0]}",
        ],
    )
    median_a = statistics.median(structure_times) * 1000
    median_b = statistics.median(detail_times) * 1000
    n = len(structure_times)
    print(
        f"targets: 20 level-0 companies (8 levels of shareholders); with threshold=1, "
        f"derived UBOs per target "
        f"{min(s[0] for s in sizes)}–{max(s[0] for s in sizes)}, their paths "
        f"{min(s[1] for s in sizes)}–{max(s[1] for s in sizes)}; the first target's walk "
        f"returns {len(rows)} paths"
    )
    for label, times, median in (
        ("(a) GET .../organization ", structure_times, median_a),
        ("(b) GET .../customers/ref", detail_times, median_b),
        ("(c) ...organization?threshold=1", heavy_times, statistics.median(heavy_times) * 1000),
    ):
        print(f"{label}  n={n}  median {median:7.2f} ms  p99 {p99(times) * 1000:7.2f} ms")
    print(f"ratio a/b (median): {median_a / median_b:.2f}  (goal ≤ 3)")
    print(
        f"SQL queries per request ({HEAVY}): a 2-level structure {deep[0]}, "
        f"an 8-level structure {deep[1]}; customer detail {deep[2]}"
    )
    if args.cleanup:
        Connection.objects.filter(organisation=org)._raw_delete(connection.alias)
        Customer.objects.filter(organisation=org)._raw_delete(connection.alias)
        ApiKey.objects.filter(organisation=org).delete()
        org.delete()
        print("benchmark organisation deleted")


if __name__ == "__main__":
    main()
