"""The API beside a bare Django app on the same tables: how close to the physical limit.

The bare app (written out and served by this script) does per request only what must
be done: one query for the API key by its hash, one for the row(s), `json.dumps`. Both
run under gunicorn with 2 sync workers; `wrk` loads each in turn, interleaved, for:

- detail: GET /customers/{ref} of random customers;
- upsert: POST /customers of an existing customer (its name changes: every request
  sends a name not sent before, so the API really writes, as the bare app's UPDATE does);
- list first pages: GET /customers?page=N, N random in 1..100;
- list deep pages: random pages in 1..5,000 by OFFSET (both apps), and by `cursor`
  (the API's keyset pagination: the same deep pages, reached by their cursors).

It prints req/s, p99 and the ratio API / bare. Data: 100,000 customers in PostgreSQL
(built once in the database, reused by later runs). Needs `wrk` (Debian:
`apt-get install -y wrk`).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kyc_apiperf_bench \\
        .venv/bin/python bench/api.py [--seconds 5] [--rounds 2] [--connections 4] \\
        [--only detail,pages]
"""

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/kyc_apiperf_bench"
os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kycregistry.settings.base")
os.environ.setdefault("DJANGO_DEBUG", "1")
ORG_SLUG = "api-bench"
N_CUSTOMERS = 100_000
PAGE_SIZE = 20

BARE_APP = '''
"""A bare Django app on the API's tables: the key by its hash, the row(s), json.dumps."""
import hashlib, json, os
import dj_database_url
from django.conf import settings

settings.configure(
    DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__, MIDDLEWARE=[],
    DATABASES={"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=600)},
)
from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

COLUMNS = ("id, reference_id, name, account_type, status, client_number, external_id, "
    "risk_score, last_ip_address, last_user_agent, usual_user_agent, last_screening_date, "
    "onboarding_status, monitored, organisation_id, created_at, updated_at, given_name, "
    "family_name, birth_date, legal_name, incorporation_date, corporation_type, country, "
    "identifications, address, phone, email, custom_fields")

def organisation(request, cursor):
    key = request.headers.get("Authorization", "").partition(" ")[2]
    cursor.execute("SELECT organisation_id FROM organisations_apikey "
        "WHERE key_hash = %s AND revoked_at IS NULL", [hashlib.sha256(key.encode()).hexdigest()])
    row = cursor.fetchone()
    return row[0] if row else None

def answer(cursor, status=200):
    names = [c.name for c in cursor.description]
    rows = [dict(zip(names, row)) for row in cursor.fetchall()]
    return HttpResponse(json.dumps({"data": rows}, default=str), status=status,
        content_type="application/json")

def detail(request, ref):
    with connection.cursor() as cursor:
        org = organisation(request, cursor)
        cursor.execute(f"SELECT {COLUMNS} FROM customers_customer "
            "WHERE organisation_id = %s AND reference_id = %s", [org, ref])
        return answer(cursor)

@csrf_exempt
def customers(request):
    with connection.cursor() as cursor:
        org = organisation(request, cursor)
        if request.method == "POST":
            body = json.loads(request.body)
            cursor.execute(f"UPDATE customers_customer SET name = %s, updated_at = now() "
                f"WHERE organisation_id = %s AND reference_id = %s RETURNING {COLUMNS}",
                [body["name"], org, body["referenceId"]])
            return answer(cursor)
        page, size = int(request.GET.get("page", 1)), int(request.GET.get("pageSize", 20))
        cursor.execute(f"SELECT {COLUMNS} FROM customers_customer WHERE organisation_id = %s "
            "AND status = 'active' ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s",
            [org, size, (page - 1) * size])
        return answer(cursor)

urlpatterns = [path("api/v1/customers", customers), path("api/v1/customers/<ref>", detail)]
application = get_wsgi_application()
'''

LUA = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
wrk.method = "%(method)s"
wrk.headers["Authorization"] = "Bearer %(key)s"
wrk.headers["Content-Type"] = "application/json"
local bodies = {}
%(bodies)s
math.randomseed(os.time())
-- "@N@" in a body becomes a number no earlier request of any run sent.
local sent = 0
local run = tostring(os.time())
request = function()
  if #bodies > 0 then
    sent = sent + 1
    local body = bodies[math.random(#bodies)]:gsub("@N@", run .. "-" .. sent)
    return wrk.format(nil, paths[1], nil, body)
  end
  return wrk.format(nil, paths[math.random(#paths)])
end
"""


def require_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit(
            "bench/api.py needs wrk, the HTTP load generator. Install it with "
            "`apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk` (macOS)."
        )
    return found


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_data() -> tuple[str, list[str]]:
    """The bench organisation (built once), a fresh key, and the referenceIds."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from customers.models import AccountType, Customer
    from organisations.models import Organisation, Scope
    from organisations.services import api_key_create

    call_command("migrate", "--noinput", verbosity=0)
    org, _ = Organisation.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "API bench"})
    have = Customer.objects.filter(organisation=org).count()
    if have < N_CUSTOMERS:
        started = time.perf_counter()
        rng = random.Random(13)
        batch = []
        for i in range(have, N_CUSTOMERS):
            company = i % 3 == 0
            customer = Customer(
                organisation=org,
                reference_id=f"CUS-{i:07d}",
                name=f"Company {i} Ltd" if company else f"Person {i}",
                account_type=AccountType.COMPANY if company else AccountType.PERSON,
                client_number=str(10_000_000 + i),
                risk_score=rng.randint(0, 100),
                country="GB",
                email=f"c{i}@example.com",
                custom_fields={},
            )
            customer.search_text = customer.build_search_text()
            batch.append(customer)
        with transaction.atomic():
            Customer.objects.bulk_create(batch, batch_size=2000)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE customers_customer")
        print(f"built {N_CUSTOMERS - have:,} customers in {time.perf_counter() - started:.0f} s")
    _key, raw = api_key_create(
        organisation=org, scopes=[Scope.KYC_READ, Scope.KYC_CREATE], name="bench"
    )
    refs = list(Customer.objects.filter(organisation=org).values_list("reference_id", flat=True))
    return raw, refs


def deep_cursors(pages: list[int]) -> list[str]:
    """The API's cursor of each deep page: the position after the page before it."""
    from customers.models import Customer
    from customers.selectors import customer_list
    from kycregistry.api.pagination import _ordering, encode_cursor
    from organisations.models import Organisation

    org = Organisation.objects.get(slug=ORG_SLUG)
    queryset = customer_list(organisation=org, filters={})
    ordering = _ordering(queryset)
    names = [name for name, _desc in ordering]
    cursors = []
    for page in pages:
        row = queryset.values(*names)[(page - 1) * PAGE_SIZE - 1]
        cursors.append(encode_cursor(ordering, [row[name] for name in names]))
    assert isinstance(Customer, type)
    return cursors


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(app: str, chdir: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            app,
            # Both apps under the product's server settings (the command line below
            # overrides some): the same for both, wherever the bench is started from.
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--chdir",
            str(chdir),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--worker-class",
            "sync",
            "--max-requests",
            "0",
            "--access-logfile",
            "/dev/null",
            "--error-logfile",
            "-",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    for _ in range(150):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit(f"gunicorn did not start: {app}")


def run_wrk(
    wrk: str, base: str, script: Path, seconds: int, connections: int
) -> tuple[float, float, int]:
    """(requests per second, p99 in ms, non-2xx answers)."""
    result = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, p99, int(errors.group(1)) if errors else 0


def script_for(
    workdir: Path, name: str, key: str, paths: list[str], bodies: list[str] | None = None
) -> Path:
    paths_file = workdir / f"{name}.paths"
    paths_file.write_text("\n".join(paths) + "\n")
    lua_bodies = "".join(f"bodies[{i + 1}] = {json.dumps(b)}\n" for i, b in enumerate(bodies or []))
    script = workdir / f"{name}.lua"
    script.write_text(
        LUA
        % {
            "paths": paths_file,
            "method": "POST" if bodies else "GET",
            "key": key,
            "bodies": lua_bodies,
        }
    )
    return script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved runs per app")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument(
        "--only",
        default="",
        help="run only the scenarios whose names contain one of these comma-separated words "
        "(detail, upsert, pages, deep, cursor)",
    )
    args = parser.parse_args()
    wrk = require_wrk()
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        raise SystemExit("bench/api.py measures on PostgreSQL: set DATABASE_URL=postgres://…")
    ensure_database(url)
    key, refs = setup_data()
    rng = random.Random(7)
    workdir = Path(tempfile.mkdtemp(prefix="api-bench-"))
    (workdir / "bare.py").write_text(textwrap.dedent(BARE_APP))

    prefix = "/api/v1/customers"
    detail = [f"{prefix}/{ref}" for ref in rng.sample(refs, 2000)]
    upsert_refs = rng.sample(refs, 500)
    upsert_bodies = [
        json.dumps(
            {
                "referenceId": ref,
                "name": f"Renamed {i} @N@",
                "accountTypeId": 2 if int(ref[4:]) % 3 == 0 else 1,
            }
        )
        for i, ref in enumerate(upsert_refs)
    ]
    first = [f"{prefix}?page={rng.randint(1, 100)}&pageSize={PAGE_SIZE}" for _ in range(500)]
    deep_pages = [rng.randint(2, N_CUSTOMERS // PAGE_SIZE) for _ in range(200)]
    deep = [f"{prefix}?page={p}&pageSize={PAGE_SIZE}" for p in deep_pages]
    try:
        cursors = [f"{prefix}?cursor={c}&pageSize={PAGE_SIZE}" for c in deep_cursors(deep_pages)]
    except ImportError:  # a checkout from before keyset pagination
        cursors = deep
    scenarios = {
        "detail": (script_for(workdir, "detail", key, detail), None),
        "upsert (existing)": (
            script_for(workdir, "upsert", key, [prefix], upsert_bodies),
            None,
        ),
        "list, pages 1-100": (script_for(workdir, "first", key, first), None),
        "list, deep (OFFSET)": (script_for(workdir, "deep", key, deep), None),
        "list, deep (cursor)": (
            script_for(workdir, "cursor", key, cursors),
            script_for(workdir, "deep-bare", key, deep),
        ),
    }

    env_common = {
        key_: value
        for key_, value in os.environ.items()
        if not key_.startswith(("DJANGO_", "GUNICORN_"))
    }
    api_env = {
        **env_common,
        "DJANGO_SETTINGS_MODULE": "kycregistry.settings.base",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    servers = []
    try:
        api_server, api_base = serve("kycregistry.wsgi:application", ROOT, api_env)
        servers.append(api_server)
        bare_server, bare_base = serve("bare:application", workdir, env_common)
        servers.append(bare_server)
        print(
            f"{N_CUSTOMERS:,} customers, PostgreSQL, gunicorn 2 sync workers each, "
            f"wrk -c{args.connections}, {args.rounds} × {args.seconds} s per app, interleaved"
        )
        print(
            f"{'scenario':<22}{'API req/s':>11}{'bare req/s':>12}{'ratio':>7}"
            f"{'API p99':>10}{'bare p99':>10}{'p99 ×':>7}"
        )
        only = {word for word in args.only.split(",") if word}
        for name, (script, bare_script) in scenarios.items():
            if only and not any(word in name for word in only):
                continue
            results: dict[str, list[tuple[float, float, int]]] = {"api": [], "bare": []}
            for round_ in range(args.rounds + 1):  # round 0 warms both up, uncounted
                for which, base, path in (
                    ("bare", bare_base, bare_script or script),
                    ("api", api_base, script),
                ):
                    seconds = 1 if round_ == 0 else args.seconds
                    measured = run_wrk(wrk, base, path, seconds, args.connections)
                    if round_:
                        results[which].append(measured)
            api_rps = sum(r[0] for r in results["api"]) / args.rounds
            bare_rps = sum(r[0] for r in results["bare"]) / args.rounds
            api_p99 = max(r[1] for r in results["api"])
            bare_p99 = max(r[1] for r in results["bare"])
            errors = sum(r[2] for r in results["api"]) + sum(r[2] for r in results["bare"])
            note = f"  ({errors} non-2xx!)" if errors else ""
            print(
                f"{name:<22}{api_rps:>11,.0f}{bare_rps:>12,.0f}{api_rps / bare_rps:>6.2f}×"
                f"{api_p99:>8.1f}ms{bare_p99:>8.1f}ms{api_p99 / bare_p99:>6.1f}×{note}",
                flush=True,
            )
        print("list, deep (cursor): the API reads deep pages by cursor, the bare app by OFFSET.")
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
