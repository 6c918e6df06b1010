"""Benchmark: webhook delivery throughput, and what the outbox adds to a customer upsert.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kyc_webhooks_bench \\
        .venv/bin/python bench/webhooks.py --deliveries 4000 --upserts 400

1. Migrates the configured database and starts a fast local receiver (HTTP/1.1,
   keep-alive, answers 200 at once) on 127.0.0.1 in this process.
2. Throughput: writes `--deliveries` pending deliveries (one customer each, so no
   ordering holds any back) for one endpoint pointing at the receiver, then starts
   `--workers` processes (default 2) that each run the worker's task
   (`webhooks.tasks.deliver_endpoint`) until nothing is due, and prints deliveries/s
   from the first start to the last delivery (goal: ≥ 200/s with 2 workers).
3. Outbox cost: `--upserts` customer upserts through `customer_upsert` (half creates,
   half updates), each in its own transaction with its commit, alternating between an
   organisation without webhook endpoints and one with an endpoint subscribed to every
   event type (so each write also writes its outbox rows and queues the delivery
   task), once as the service call and once as the API request (`POST
   /api/v1/customers` through Django's test client, in this process). Prints, for
   each, the median time per upsert without and with the endpoint and the added cost:
   the median of the paired differences over the plain median (goal ≤ 10%).

The database keeps the benchmark's organisations (named "Bench webhooks …").
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kycregistry.settings.base")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")  # the API requests of the test client
# The receiver is a local HTTP server.
os.environ["WEBHOOKS_ALLOW_HTTP"] = "1"
os.environ["WEBHOOKS_ALLOW_PRIVATE_URLS"] = "1"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from customers.services import customer_upsert  # noqa: E402
from organisations.models import Organisation, Scope  # noqa: E402
from organisations.services import api_key_create  # noqa: E402
from webhooks.models import Delivery, DeliveryStatus, Endpoint  # noqa: E402

WORKER = """
import os, sys
sys.path.insert(0, {root!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kycregistry.settings.base")
import django
django.setup()
from webhooks.tasks import deliver_endpoint
while deliver_endpoint.call(endpoint_id={endpoint_id!r}):
    pass
"""


class FastHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    received = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        FastHandler.received += 1
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def start_receiver() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FastHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/hook"


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def organisation(label: str) -> Organisation:
    stamp = f"{time.strftime('%Y%m%d%H%M%S')}-{label}"
    return Organisation.objects.create(name=f"Bench webhooks {stamp}", slug=f"bench-wh-{stamp}")


def throughput(url: str, count: int, workers: int) -> None:
    org = organisation("throughput")
    endpoint = Endpoint.objects.create(organisation=org, url=url, events=["*"])
    now = timezone.now()
    body = '{"type":"ping","timestamp":"2026-01-01T00:00:00.000Z","data":{}}'
    Delivery.objects.bulk_create(
        [
            Delivery(
                organisation=org,
                endpoint=endpoint,
                event_type="ping",
                body=body,
                ordering_key=f"customer:{n}",
                next_attempt_at=now,
            )
            for n in range(count)
        ],
        batch_size=2000,
    )
    connection.close()  # the workers take over the database
    script = WORKER.format(root=str(ROOT), endpoint_id=str(endpoint.pk))
    started = time.perf_counter()
    processes = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(workers)]
    for process in processes:
        process.wait()
    elapsed = time.perf_counter() - started
    delivered = Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.DELIVERED)
    done = delivered.count()
    print(
        f"throughput: {done}/{count} delivered by {workers} worker processes in "
        f"{elapsed:.2f} s = {done / elapsed:.0f} deliveries/s (goal >= 200; "
        f"process start-up included); receiver saw {FastHandler.received}; load {load()}"
    )


def timed_upsert(org: Organisation, data: dict[str, Any]) -> float:
    started = time.perf_counter()
    with transaction.atomic():
        customer_upsert(organisation=org, data=data)
    return time.perf_counter() - started


def timed_request(client: Client, key: str, data: dict[str, Any]) -> float:
    started = time.perf_counter()
    response = client.post(
        "/api/v1/customers",
        data=json.dumps(data),
        content_type="application/json",
        headers={"authorization": f"Bearer {key}"},
        secure=True,
    )
    elapsed = time.perf_counter() - started
    assert response.status_code in (200, 201), response.content
    return elapsed


def person(n: int, round_: int) -> dict[str, Any]:
    return {
        "referenceId": f"P-{n}",
        "name": f"Person {n}" if round_ == 0 else f"Person {n} (updated)",
        "accountTypeId": 1,
        "identity": {"givenName": "Person", "familyName": str(n), "country": "GB"},
        "profile": {"email": f"p{n}@example.com"},
    }


def added_cost(times: dict[str, list[float]]) -> tuple[float, float, float]:
    """Median ms without and with the endpoint, and the added cost in %: the median of
    the paired differences (each subscribed upsert against the plain one run just
    before it, so drift of the machine cancels out) over the plain median."""
    plain = statistics.median(times["plain"]) * 1000
    subscribed = statistics.median(times["subscribed"]) * 1000
    paired = [s - p for s, p in zip(times["subscribed"], times["plain"], strict=True)]
    return plain, subscribed, statistics.median(paired) * 1000 / plain * 100


def outbox_cost(url: str, upserts: int) -> None:
    """The same upserts, alternating between the two organisations, called as the
    service (`customer_upsert` in its transaction) and as the API request an integrator
    makes (`POST /api/v1/customers`, in this process through Django's test client)."""
    plain = organisation("plain")
    subscribed = organisation("subscribed")
    Endpoint.objects.create(organisation=subscribed, url=url, events=["*"])
    keys = {
        label: api_key_create(organisation=org, scopes=[Scope.KYC_CREATE], name="bench")[1]
        for label, org in (("plain", plain), ("subscribed", subscribed))
    }
    client = Client()
    service: dict[str, list[float]] = {"plain": [], "subscribed": []}
    api: dict[str, list[float]] = {"plain": [], "subscribed": []}
    half = upserts // 2
    for round_ in range(2):  # creates, then updates of the same customers
        for n in range(half):
            for label, org in (("plain", plain), ("subscribed", subscribed)):
                service[label].append(timed_upsert(org, person(n, round_)))
            for label in ("plain", "subscribed"):
                api[label].append(timed_request(client, keys[label], person(half + n, round_)))
    written = Delivery.objects.filter(organisation=subscribed).count()
    queries = {}
    for label, org in (("plain", plain), ("subscribed", subscribed)):
        connection.queries_log.clear()  # DEBUG's log is full: capture counts from empty
        with CaptureQueriesContext(connection) as captured:
            timed_upsert(org, {"referenceId": "P-Q", "name": "Q", "accountTypeId": 1})
        queries[label] = len(captured.captured_queries)
        if os.environ.get("BENCH_SHOW_SQL"):
            for query in captured.captured_queries:
                print(label, query["time"], query["sql"][:140])
    print(f"outbox: {written} rows written for the subscribed organisation; load {load()}")
    for name, times in (("service", service), ("API request", api)):
        plain_ms, subscribed_ms, added = added_cost(times)
        print(
            f"upsert ({name}): median {plain_ms:.2f} ms without an endpoint, "
            f"{subscribed_ms:.2f} ms with one subscribed to every event: {added:+.1f}% "
            "(median paired difference; goal <= 10%)"
        )
    print(
        f"SQL statements per create: {queries['plain']} and {queries['subscribed']} "
        "(plus one queued task per endpoint per second)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--upserts", type=int, default=200)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}")
    url = start_receiver()
    outbox_cost(url, args.upserts)
    throughput(url, args.deliveries, args.workers)


if __name__ == "__main__":
    main()
