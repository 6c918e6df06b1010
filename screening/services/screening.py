"""Screening: compare customers and their parties with the organisation's watchlists,
record hits, review them; monitoring (who is screened again, and when)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, QuerySet, Value, When
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from customers.models import Customer, CustomerStatus, MonitoringFrequency
from kycregistry import events
from organisations.audit import Channel, audit_context, current_actor
from organisations.models import Organisation
from screening.index import CandidateIndex, KeyQueryIndex
from screening.matching import Match, Subject, compare
from screening.models import (
    HitStatus,
    ScreeningHit,
    WatchlistEntry,
    WatchlistKey,
    WatchlistStatus,
)
from screening.parties import (
    PARTY_FIELDS,
    candidates_in_organisation,
    customers_reaching,
    parties_of,
)

FREQUENCIES: dict[str, timedelta] = {
    MonitoringFrequency.DAILY: timedelta(days=1),
    MonitoringFrequency.WEEKLY: timedelta(days=7),
    MonitoringFrequency.MONTHLY: timedelta(days=30),
}
# Above this many names, loading the whole index once beats one lookup per batch.
WHOLE_INDEX_FROM = 2000
BATCH = 1000
# What a screening run reads of the customers it screens (and the ownership walk).
BOOK_FIELDS: tuple[str, ...] = ("organisation", "reference_id", "risk_score", "status")
BOOK_FIELDS += ("monitored", "monitoring_frequency", *PARTY_FIELDS)
COMMENT_REQUIRED = "A comment is required to dismiss a hit"
BAD_STATUS = "status must be confirmed or dismissed"
BAD_FREQUENCY = "frequency must be daily, weekly or monthly"


@dataclass
class ScreeningRun:
    """What one screening run did."""

    customers: int = 0
    parties: int = 0
    comparisons: int = 0
    created: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    updated: int = 0


def _threshold(organisation: Organisation) -> float:
    return float(organisation.screening_threshold)


def _keys_of(organisation_id: Any) -> QuerySet[WatchlistKey]:
    return WatchlistKey.objects.filter(
        watchlist__organisation_id=organisation_id, watchlist__version__gt=0
    )


class Screener:
    """Screens batches of customers of one organisation against an index. Each party
    is scored once per run (a director of many companies too), each entry's subject
    built once."""

    def __init__(
        self,
        *,
        organisation: Organisation,
        index: CandidateIndex | None = None,
        entries: QuerySet[WatchlistEntry] | None = None,
    ) -> None:
        self.organisation = organisation
        self.threshold = _threshold(organisation)
        self.index = index
        self.entries = (
            entries
            if entries is not None
            else WatchlistEntry.objects.filter(
                watchlist__organisation=organisation, watchlist__version__gt=0
            )
        )
        self.entry_subjects: dict[int, Subject] = {}
        self.entry_digests: dict[int, str] = {}
        self.party_matches: dict[int, list[tuple[int, Match]]] = {}
        self.run = ScreeningRun()

    def _index(self) -> CandidateIndex | KeyQueryIndex:
        if self.index is not None:
            return self.index
        return KeyQueryIndex(organisation_id=self.organisation.pk)

    def _load_entries(self, ids: set[int]) -> None:
        missing = sorted(ids - self.entry_subjects.keys())
        columns = ("pk", "schema", "name", "aliases", "birth_dates", "countries", "digest")
        for start in range(0, len(missing), BATCH):
            rows = self.entries.filter(pk__in=missing[start : start + BATCH]).values_list(*columns)
            for pk, schema, name, aliases, birth_dates, countries, digest in rows:
                self.entry_digests[pk] = digest
                self.entry_subjects[pk] = Subject.build(
                    schema=schema,
                    names=(name, *aliases),
                    birth_dates=birth_dates,
                    countries=countries,
                )

    def matches(self, subjects: dict[int, Subject]) -> dict[int, list[tuple[int, Match]]]:
        """party id → [(entry id, match)] at or above the threshold."""
        return self._compare(subjects, self._index().candidates_of(subjects))

    def _compare(
        self, subjects: dict[int, Subject], candidates: dict[int, set[int]]
    ) -> dict[int, list[tuple[int, Match]]]:
        self._load_entries(set().union(*candidates.values()) if candidates else set())
        found: dict[int, list[tuple[int, Match]]] = {}
        for pk, entry_ids in candidates.items():
            party = subjects[pk]
            for entry_id in entry_ids:
                entry = self.entry_subjects.get(entry_id)
                if entry is None:
                    continue
                self.run.comparisons += 1
                match = compare(party, entry)
                if match is not None and match.score >= self.threshold:
                    found.setdefault(pk, []).append((entry_id, match))
        return found

    def prime(self) -> set[int]:
        """Score every customer of the organisation as a party now (against the loaded
        index); returns those with a match."""
        assert self.index is not None, "prime needs a loaded index"
        subjects, candidates, none = candidates_in_organisation(self.organisation.pk, self.index)
        found = self._compare(subjects, candidates)
        self.run.parties += len(subjects) + len(none)
        for pk in none:
            self.party_matches[pk] = []
        for pk in subjects:
            self.party_matches[pk] = found.get(pk, [])
        return set(found)

    def screen(self, customers: Sequence[Customer], *, now: datetime, stamp: bool = True) -> None:
        """Screen `customers` (one batch) and record their hits; `stamp`: set their
        lastScreeningDate and next due time (not when only new entries were compared)."""
        parties = parties_of(
            customers=customers,
            as_of=timezone.localdate(now),
            threshold=self.organisation.ownership_threshold,
            known=self.party_matches,
        )
        todo = {
            pk: subject for pk, subject in parties.subjects.items() if pk not in self.party_matches
        }
        self.run.customers += len(customers)
        self.run.parties += len(todo)
        found = self.matches(todo)
        for pk in todo:
            self.party_matches[pk] = found.get(pk, [])
        wanted: dict[tuple[int, int, int], tuple[str, Match]] = {}
        for customer_id, roles in parties.roles.items():
            for party_id, role in roles:
                for entry_id, match in self.party_matches[party_id]:
                    wanted.setdefault((customer_id, party_id, entry_id), (role, match))
        self._record(wanted, customer_ids=[customer.pk for customer in customers])
        if stamp:
            _stamp(customers, now=now)

    def _record(
        self, wanted: dict[tuple[int, int, int], tuple[str, Match]], *, customer_ids: list[int]
    ) -> None:
        if not wanted:
            return
        existing = {
            (hit.customer_id, hit.party_id, hit.entry_id): hit
            for hit in ScreeningHit.objects.filter(
                customer_id__in={key[0] for key in wanted},
                entry_id__in={key[2] for key in wanted},
            )
        }
        new: list[ScreeningHit] = []
        changed: list[ScreeningHit] = []
        reopened: list[ScreeningHit] = []
        for key, (role, match) in wanted.items():
            digest = self.entry_digests[key[2]]
            hit = existing.get(key)
            if hit is None:
                new.append(
                    ScreeningHit(
                        organisation_id=self.organisation.pk,
                        customer_id=key[0],
                        party_id=key[1],
                        entry_id=key[2],
                        role=role,
                        score=match.score,
                        explanation=match.explanation,
                        entry_digest=digest,
                    )
                )
                continue
            if hit.status == HitStatus.DISMISSED and hit.entry_digest != digest:
                # The entry changed in a newer list version: the analyst looks again.
                hit.status = HitStatus.OPEN
                hit.entry_digest = digest
                reopened.append(hit)
            elif hit.score == match.score and hit.explanation == match.explanation:
                continue
            hit.score = match.score
            hit.explanation = match.explanation
            hit.role = role
            changed.append(hit)
        created_ids: list[int] = []
        if new:
            created = bulk_create_with_history(new, ScreeningHit, batch_size=BATCH)
            if not all(hit.pk for hit in created):  # backends without RETURNING
                keys = {(h.customer_id, h.party_id, h.entry_id) for h in new}
                created = [
                    hit
                    for hit in ScreeningHit.objects.filter(customer_id__in=customer_ids)
                    if (hit.customer_id, hit.party_id, hit.entry_id) in keys
                ]
            created_ids = [hit.pk for hit in created]
            self.run.created.extend(created_ids)
        if changed:
            bulk_update_with_history(
                changed,
                ScreeningHit,
                ["status", "entry_digest", "score", "explanation", "role", "updated_at"],
                batch_size=BATCH,
            )
            self.run.updated += len(changed)
            self.run.reopened.extend(hit.pk for hit in reopened)
        fresh = [*created_ids, *(hit.pk for hit in reopened)]
        if fresh:
            channel, actor_id = events.actor_names(current_actor())
            events.announce(
                events.ScreeningHitsFound(
                    organisation_id=self.organisation.pk,
                    hit_ids=tuple(sorted(fresh)),
                    customer_ids=frozenset(
                        hit.customer_id
                        for hit in ScreeningHit.objects.filter(pk__in=fresh).only("customer_id")
                    ),
                    channel=channel,
                    actor_id=actor_id,
                )
            )


def _next_due(now: datetime) -> Case:
    return Case(
        *(
            When(monitored=True, monitoring_frequency=frequency, then=Value(now + delta))
            for frequency, delta in FREQUENCIES.items()
        ),
        default=F("next_screening_at"),
    )


def _stamp(customers: Sequence[Customer], *, now: datetime) -> None:
    """lastScreeningDate for all; the next due time for the monitored ones (one
    statement)."""
    Customer.objects.filter(pk__in=[customer.pk for customer in customers]).update(
        last_screening_date=now, next_screening_at=_next_due(now)
    )
    for customer in customers:
        customer.last_screening_date = now
        if customer.monitored and customer.monitoring_frequency in FREQUENCIES:
            customer.next_screening_at = now + FREQUENCIES[customer.monitoring_frequency]


def screen_customers(
    *,
    organisation: Organisation,
    customers: Sequence[Customer],
    now: datetime | None = None,
    index: CandidateIndex | None = None,
    stamp: bool = True,
) -> ScreeningRun:
    """Screen `customers` of `organisation` (and their parties) against its watchlists;
    `stamp`: set their lastScreeningDate and next due time, batch by batch."""
    now = now or timezone.now()
    customers = list(customers)
    if index is None and len(customers) >= WHOLE_INDEX_FROM:
        index = CandidateIndex.load(keys=_keys_of(organisation.pk))
    screener = Screener(organisation=organisation, index=index)
    for start in range(0, len(customers), BATCH):
        with transaction.atomic():
            screener.screen(customers[start : start + BATCH], now=now, stamp=stamp)
    return screener.run


def customer_screen(*, customer: Customer, now: datetime | None = None) -> ScreeningRun:
    return screen_customers(organisation=customer.organisation, customers=[customer], now=now)


def _screen_reaching(
    *, screener: Screener, book: QuerySet[Customer], now: datetime
) -> ScreeningRun:
    """Score every customer of the organisation once as a party; then record hits for
    the customers of `book` that can reach a matched party (itself, a connection, an
    ownership chain). The others have no hit to record."""
    organisation = screener.organisation
    matched = screener.prime()
    reaching = customers_reaching(
        organisation_id=organisation.pk, party_ids=matched, as_of=timezone.localdate(now)
    )
    targets = list(book.filter(pk__in=reaching).only(*BOOK_FIELDS).order_by("pk"))
    for start in range(0, len(targets), BATCH):
        with transaction.atomic():
            screener.screen(targets[start : start + BATCH], now=now, stamp=False)
    screener.run.customers = book.count()
    return screener.run


def screen_book(*, organisation: Organisation, now: datetime | None = None) -> ScreeningRun:
    """Every active customer of the organisation, with its parties."""
    now = now or timezone.now()
    book = Customer.objects.filter(organisation=organisation, status=CustomerStatus.ACTIVE)
    screener = Screener(
        organisation=organisation, index=CandidateIndex.load(keys=_keys_of(organisation.pk))
    )
    run = _screen_reaching(screener=screener, book=book, now=now)
    book.update(last_screening_date=now, next_screening_at=_next_due(now))
    return run


def screen_monitored_against_version(
    *, organisation_id: UUID | str, watchlist_id: int, version: int, now: datetime | None = None
) -> ScreeningRun:
    """A new list version: the monitored customers against its added and changed
    entries only (the others were screened already)."""
    organisation = Organisation.objects.get(pk=organisation_id)
    entries = WatchlistEntry.objects.filter(
        watchlist_id=watchlist_id,
        version=version,
        watchlist__status=WatchlistStatus.COMPLETED,
        watchlist__version=version,
    )
    index = CandidateIndex.load(
        keys=WatchlistKey.objects.filter(watchlist_id=watchlist_id, entry__version=version)
    )
    screener = Screener(organisation=organisation, index=index, entries=entries)
    book = Customer.objects.filter(organisation=organisation, monitored=True)
    with audit_context(channel=Channel.SYSTEM):
        return _screen_reaching(screener=screener, book=book, now=now or timezone.now())


# -- review -------------------------------------------------------------------------


def _reviewer() -> str:
    actor = current_actor()
    if actor is None:
        return "system"
    if actor.api_key is not None:
        return f"API key {actor.api_key}"
    if actor.user is not None:
        return actor.user.get_username()
    return actor.channel


def hit_review(*, hit: ScreeningHit, data: Any) -> ScreeningHit:
    """Confirm or dismiss a hit (`status`, `comment`; a comment is required to
    dismiss). ValidationError names the field."""
    if not isinstance(data, dict):
        raise ValidationError({"body": "must be a JSON object"})
    status = data.get("status")
    comment = data.get("comment")
    if status not in (HitStatus.CONFIRMED, HitStatus.DISMISSED):
        raise ValidationError({"status": BAD_STATUS})
    if comment is not None and not isinstance(comment, str):
        raise ValidationError({"comment": "must be a string"})
    comment = (comment or "").strip()
    if status == HitStatus.DISMISSED and not comment:
        raise ValidationError({"comment": COMMENT_REQUIRED})
    if len(comment) > 5000:
        raise ValidationError({"comment": "At most 5000 characters."})
    with transaction.atomic():
        hit = ScreeningHit.objects.select_for_update().select_related("entry").get(pk=hit.pk)
        hit.status = status
        hit.comment = comment
        hit.reviewed_at = timezone.now()
        hit.reviewed_by = _reviewer()[:200]
        hit.entry_digest = hit.entry.digest
        hit.save()
        channel, actor_id = events.actor_names(current_actor())
        events.announce(
            events.ScreeningHitsReviewed(
                organisation_id=hit.organisation_id,
                hit_ids=(hit.pk,),
                customer_ids=frozenset({hit.customer_id}),
                channel=channel,
                actor_id=actor_id,
            )
        )
    return hit


# -- monitoring ---------------------------------------------------------------------


def _announce_monitoring(customer: Customer) -> None:
    events.customers_written(
        organisation_id=customer.organisation_id,
        changed_fields={customer.pk: {"monitored", "monitoring_frequency", "next_screening_at"}},
        actor=current_actor(),
    )


def customer_monitor_start(
    *, customer: Customer, frequency: Any = MonitoringFrequency.DAILY, now: datetime | None = None
) -> Customer:
    """Add the customer to monitoring (`frequency` daily — the default —, weekly or
    monthly), screen it at once and schedule the next screening."""
    from screening.tasks import ensure_monitoring_scheduled

    if frequency not in MonitoringFrequency.values:
        raise ValidationError({"frequency": BAD_FREQUENCY})
    now = now or timezone.now()
    with transaction.atomic():
        customer.monitored = True
        customer.monitoring_frequency = frequency
        customer.next_screening_at = now + FREQUENCIES[MonitoringFrequency(frequency)]
        customer.save(update_fields=["monitored", "monitoring_frequency", "next_screening_at"])
        _announce_monitoring(customer)
        screen_customers(organisation=customer.organisation, customers=[customer], now=now)
        transaction.on_commit(ensure_monitoring_scheduled)
    return customer


def customer_monitor_stop(*, customer: Customer) -> Customer:
    with transaction.atomic():
        customer.monitored = False
        customer.monitoring_frequency = ""
        customer.next_screening_at = None
        customer.save(update_fields=["monitored", "monitoring_frequency", "next_screening_at"])
        _announce_monitoring(customer)
    return customer


def screen_due(*, now: datetime | None = None, limit: int = 10_000) -> int:
    """Screen the monitored customers whose next screening is due (all organisations);
    returns how many were screened."""
    now = now or timezone.now()
    due = list(
        Customer.objects.filter(monitored=True, next_screening_at__lte=now)
        .select_related("organisation")
        .order_by("next_screening_at", "pk")[:limit]
    )
    by_organisation: dict[Any, list[Customer]] = {}
    for customer in due:
        by_organisation.setdefault(customer.organisation_id, []).append(customer)
    with audit_context(channel=Channel.SYSTEM):
        for customers in by_organisation.values():
            screen_customers(organisation=customers[0].organisation, customers=customers, now=now)
    return len(due)


def rescreen_changed(*, organisation_id: Any, customer_ids: Iterable[int]) -> int:
    """Screen again the monitored ones of `customer_ids` (their name, identity or
    connections changed)."""
    organisation = Organisation.objects.get(pk=organisation_id)
    customers = list(
        Customer.objects.filter(
            organisation=organisation, pk__in=list(customer_ids), monitored=True
        ).order_by("pk")
    )
    if customers:
        with audit_context(channel=Channel.SYSTEM):
            screen_customers(organisation=organisation, customers=customers)
    return len(customers)
