"""Benchmark: screening a whole book against a large watchlist, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kyc_screening_bench \\
        .venv/bin/python bench/screening.py --customers 100000 --entries 100000

1. Migrates the database and builds, in a fresh organisation, `--customers` customers
   (60% persons, 40% companies; each company has a director and a shareholder among
   the persons) and a watchlist of `--entries` entries (70% persons, a fifth of them
   written in Cyrillic, 30% companies with legal forms), imported through the import
   job (parse, diff, index). Names come from the same generated pools of given names,
   surnames and company words, so namesakes exist as in real books; 0.5% of the
   customers are planted variants of list entries (typos, reordered, transliterated).
   Customers and connections are written with bulk_create (no history rows).
2. Times (a) the full screening of the book (every customer with its parties,
   `screen_book`), (b) single-customer screening (`customer_screen`, the API's
   `POST /customers/{ref}/screen` without HTTP) over 200 customers: median and p95,
   (c) a new list version with 1% of the entries changed, and the delta screening of
   the (all monitored) customers against the changed entries only.
3. Prints the figures, the comparisons made (candidate retrieval, not all × all) and
   the hits found, and whether the planted matches were found.

`--reuse` takes the book and list of an earlier run on the same database (same sizes
and seed) instead of building them: its hits are deleted and the list is brought back
to the generated content first, untimed. `--cleanup` deletes the benchmark
organisation's rows afterwards.
"""

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kycregistry.settings.base")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from rigour.text import ascii_text  # noqa: E402

from customers.models import AccountType, Customer  # noqa: E402
from organisations.models import Organisation  # noqa: E402
from relations.models import Connection, Role  # noqa: E402
from screening.models import ScreeningHit, Watchlist, WatchlistEntry  # noqa: E402
from screening.parsers import parse_watchlist  # noqa: E402
from screening.services import (  # noqa: E402
    customer_screen,
    screen_book,
    screen_monitored_against_version,
)
from screening.services.watchlists import _settle_index, _write_version  # noqa: E402

CYRILLIC = dict(
    zip(
        "abvgdezijklmnoprstufhc",
        "абвгдезийклмнопрстуфхц",
        strict=True,
    )
)
SYLLABLES = "ka ri mo le ta si no va de lu pe ro mi sa to ne ki ra vo li za be gor an el ov in"
SYLLABLES += " ar ek ul os iv na sha cha zhe dan mar tor vik"
SYLLABLE_LIST = SYLLABLES.split()
LEGAL = ["Ltd", "LLC", "GmbH", "OOO", "PJSC", "SA", "AG", "Limited", "Inc"]


def word(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLE_LIST) for _ in range(parts)).capitalize()


def pools(rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    given = sorted({word(rng, rng.choice((2, 2, 3))) for _ in range(600)})
    surnames = sorted(
        {word(rng, 3) + rng.choice(("", "ov", "enko", "ski", "an")) for _ in range(6000)}
    )
    company = sorted({word(rng, rng.choice((2, 3))) for _ in range(5000)})
    return given, surnames, company


def cyrillic(name: str) -> str:
    return "".join(CYRILLIC.get(char, CYRILLIC.get(char.lower(), char)) for char in name)


def typo(name: str, rng: random.Random) -> str:
    tokens = name.split()
    index = rng.randrange(len(tokens))
    token = tokens[index]
    if len(token) > 4:
        at = rng.randrange(1, len(token) - 1)
        token = token[:at] + token[at + 1 :]
    tokens[index] = token
    return " ".join(tokens)


def build_list(rng, given, surnames, company, entries: int) -> list[dict]:
    records = []
    for number in range(entries):
        if number % 10 < 7:
            name = f"{rng.choice(given)} {rng.choice(surnames)}"
            if number % 5 == 0:
                name = cyrillic(name.lower())
            props = {
                "name": [name],
                "birthDate": [
                    f"{rng.randint(1940, 2000)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                ],
                "nationality": [rng.choice(("ru", "by", "ir", "sy", "kp", "ve"))],
                "topics": [rng.choice(("sanction", "role.pep", "crime"))],
            }
            records.append({"id": f"e{number}", "schema": "Person", "properties": props})
        else:
            name = f"{rng.choice(company)} {rng.choice(company)} {rng.choice(LEGAL)}"
            props = {"name": [name], "jurisdiction": ["ru"], "topics": ["sanction"]}
            records.append({"id": f"e{number}", "schema": "Company", "properties": props})
    return records


def build_book(org, rng, given, surnames, company, records, customers: int) -> list[str]:
    """Customers in bulk; returns the referenceIds of the planted matches."""
    persons = customers * 6 // 10
    rows = []
    planted = []
    person_records = [r for r in records if r["schema"] == "Person"]
    for number in range(persons):
        ref = f"BP-{number}"
        if number % 200 == 0:
            record = rng.choice(person_records)
            name = ascii_text(record["properties"]["name"][0]).title()
            name = typo(name, rng) if number % 400 == 0 else " ".join(reversed(name.split()))
            birth = record["properties"]["birthDate"][0]
            planted.append(ref)
        else:
            name = f"{rng.choice(given)} {rng.choice(surnames)}"
            birth = f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        given_name, _, family = name.partition(" ")
        rows.append(
            Customer(
                organisation=org,
                reference_id=ref,
                client_number=f"1{number:07d}",
                name=name,
                account_type=AccountType.PERSON,
                given_name=given_name,
                family_name=family,
                birth_date=birth,
                country=rng.choice(("DE", "FR", "RU", "GB", "NG")),
                monitored=True,
                monitoring_frequency="daily",
            )
        )
    for number in range(customers - persons):
        name = f"{rng.choice(company)} {rng.choice(company)} {rng.choice(LEGAL)}"
        rows.append(
            Customer(
                organisation=org,
                reference_id=f"BC-{number}",
                client_number=f"2{number:07d}",
                name=name,
                legal_name=name,
                account_type=AccountType.COMPANY,
                country="GB",
                monitored=True,
                monitoring_frequency="daily",
            )
        )
    Customer.objects.bulk_create(rows, batch_size=5000)
    ids = dict(Customer.objects.filter(organisation=org).values_list("reference_id", "pk"))
    connections = []
    for number in range(customers - persons):
        company_id = ids[f"BC-{number}"]
        director = ids[f"BP-{rng.randrange(persons)}"]
        owner = ids[f"BP-{rng.randrange(persons)}"]
        connections.append(
            Connection(
                organisation=org,
                customer_id=company_id,
                connected_customer_id=director,
                role=Role.DIRECTOR,
            )
        )
        connections.append(
            Connection(
                organisation=org,
                customer_id=company_id,
                connected_customer_id=owner,
                role=Role.SHAREHOLDER,
                ownership_percentage=60,
            )
        )
    Connection.objects.bulk_create(connections, batch_size=5000)
    return planted


def import_version(watchlist: Watchlist, records: list[dict]) -> float:
    content = "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode()
    start = time.perf_counter()
    parsed = parse_watchlist(io.BytesIO(content))
    _write_version(watchlist=watchlist, parsed_records=parsed.records, parsed=parsed)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--cleanup", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("Run on PostgreSQL: set DATABASE_URL (see the docstring).")
    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    given, surnames, company = pools(rng)
    records = build_list(rng, given, surnames, company, args.entries)
    slug = f"screening-bench-{args.customers}-{args.entries}-{args.seed}"
    org = Organisation.objects.filter(slug=slug).first() if args.reuse else None
    if org is None:
        Organisation.objects.filter(slug=slug).delete()
        org = Organisation.objects.create(name="Screening bench", slug=slug)
        start = time.perf_counter()
        planted = build_book(org, rng, given, surnames, company, records, args.customers)
        print(f"built {args.customers} customers in {time.perf_counter() - start:.1f} s")
        watchlist = Watchlist.objects.create(organisation=org, name="Bench list", status="running")
        took = import_version(watchlist, records)
        print(f"imported a list of {args.entries} entries (parse, diff, index) in {took:.1f} s")
    else:
        planted = [f"BP-{number}" for number in range(0, args.customers * 6 // 10, 200)]
        ScreeningHit.objects.filter(organisation=org).delete()
        watchlist = Watchlist.objects.get(organisation=org, name="Bench list")
        watchlist.status = "running"
        watchlist.save(update_fields=["status"])
        import_version(watchlist, records)
        print(f"reused the book of {slug}; list brought back to the generated content")
    _settle_index()  # as the import job does after a version

    start = time.perf_counter()
    run = screen_book(organisation=org)
    full = time.perf_counter() - start
    hits = ScreeningHit.objects.filter(organisation=org).count()
    found = set(
        ScreeningHit.objects.filter(
            organisation=org, role="SELF", customer__reference_id__in=planted
        ).values_list("customer__reference_id", flat=True)
    )
    print(
        f"full screening: {full:.1f} s for {run.customers} customers, {run.parties} parties, "
        f"{run.comparisons} comparisons (all x all would be "
        f"{run.parties * args.entries:,}); {hits} hits; planted matches found "
        f"{len(found)}/{len(planted)}"
    )

    refs = rng.sample(
        list(Customer.objects.filter(organisation=org).values_list("reference_id", flat=True)), 200
    )
    times = []
    for ref in refs:
        customer = Customer.objects.select_related("organisation").get(
            organisation=org, reference_id=ref
        )
        start = time.perf_counter()
        customer_screen(customer=customer)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    print(
        f"single customer: median {statistics.median(times):.1f} ms, "
        f"p95 {times[int(len(times) * 0.95)]:.1f} ms (200 customers, with their parties)"
    )

    changed = rng.sample(range(len(records)), len(records) // 100)
    for number in changed:
        record = records[number]
        names = record["properties"]["name"]
        record["properties"]["name"] = [
            typo(names[0], rng) if len(names[0]) > 6 else names[0],
            names[0],
        ]
    watchlist.status = "running"
    watchlist.save(update_fields=["status"])
    took = import_version(watchlist, records)
    _settle_index()
    watchlist.refresh_from_db()
    print(f"new version: {watchlist.changed_count} changed entries imported in {took:.1f} s")
    start = time.perf_counter()
    run = screen_monitored_against_version(
        organisation_id=org.pk, watchlist_id=watchlist.pk, version=watchlist.version
    )
    delta = time.perf_counter() - start
    print(
        f"delta screening: {delta:.1f} s for {run.customers} monitored customers against the "
        f"changed entries ({run.comparisons} comparisons) = {delta / full:.0%} of the full run"
    )
    if args.cleanup:
        with transaction.atomic():
            ScreeningHit.objects.filter(organisation=org).delete()
            WatchlistEntry.objects.filter(watchlist__organisation=org).delete()
            Watchlist.objects.filter(organisation=org).delete()
            Connection.objects.filter(organisation=org).delete()
            Customer.objects.filter(organisation=org).delete()
            org.delete()


if __name__ == "__main__":
    main()
