"""The event seam: every write of customers and connections announces here what it changed.

Writers (the customer and connection services, the bulk-import writer) call
`customers_written` and `connections_changed` once per write, set-wise: a single API
call announces one customer, an import announces every customer of a batch at once.
They call them inside their transaction, after the rows are written, so a reaction
sees the new state and runs (or enqueues its task with `transaction.on_commit`) in
that same transaction: nothing reacts to a write that rolls back.

Reactions subscribe in their app's `AppConfig.ready()` with `subscribe(handler)`;
`subscribers()` lists them (docs/architecture.md names each one and why). A handler
takes the event and returns nothing; an exception it raises rolls the write back,
as any other failure inside the writer's transaction does.

This module imports no app: every layer may announce, any higher layer may react.
"""

import threading
from collections.abc import Callable, Collection, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

type Event = CustomersWritten | ConnectionsChanged | RiskChanged | SessionsWritten
type Handler = Callable[[Any], None]


@dataclass(frozen=True, slots=True)
class CustomersWritten:
    """Customers were created or changed (fields of the customer row itself).

    `changed_fields[id]` holds the model field names that changed for an updated
    customer (empty for a created one). Customers found unchanged are not announced.

    `customers` holds the written rows as the writer has them in hand (model instances
    by id: an API or admin write gives its customer, an import none). A reaction that
    writes columns of these customers in the writer's transaction sets the new values
    on these instances too (risk scoring does), so the writer's answer and the
    reactions after it see each row as it now is without reading it again.
    """

    organisation_id: UUID
    created_ids: frozenset[int]
    changed_fields: Mapping[int, frozenset[str]]
    channel: str
    actor_id: str | None = None  # "user:<pk>" or "api_key:<pk>", as audit records name it
    customers: Mapping[int, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ids(self) -> frozenset[int]:
        return self.created_ids | frozenset(self.changed_fields)


@dataclass(frozen=True, slots=True)
class RemovedConnection:
    """What a removed connection was (its row is gone when reactions run)."""

    id: int
    customer_id: int
    connected_customer_id: int
    role: str
    ownership_percentage: Decimal | None = None
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(frozen=True, slots=True)
class ConnectionsChanged:
    """Connections were added, updated or removed.

    `customer_ids` are the customers whose connections these are (the company side);
    `holder_ids` are the connected customers on the other end, of added, updated and
    removed connections alike.
    """

    organisation_id: UUID
    customer_ids: frozenset[int]
    holder_ids: frozenset[int]
    added: tuple[int, ...] = ()
    updated: tuple[int, ...] = ()
    removed: tuple[RemovedConnection, ...] = field(default=())
    channel: str = "system"
    actor_id: str | None = None


_handlers: dict[type, list[Handler]] = {}


def subscribe(event_type: type, handler: Handler) -> None:
    """Run `handler(event)` for every event of `event_type`, in subscription order.
    Subscribing the same handler twice has no effect (apps may be readied twice)."""
    handlers = _handlers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)


def unsubscribe(event_type: type, handler: Handler) -> None:
    handlers = _handlers.get(event_type, [])
    if handler in handlers:
        handlers.remove(handler)


def subscribers(event_type: type) -> list[Handler]:
    return list(_handlers.get(event_type, ()))


class _Announcing(threading.local):
    """The announcement being made on this thread: how deep, and what its reactions
    collected to write at its end."""

    depth = 0

    def __init__(self) -> None:
        self.collected: dict[str, tuple[Callable[[list[Any]], None], list[Any]]] = {}
        self.memo: dict[Hashable, Any] = {}


_announcing = _Announcing()


def announce(event: Any) -> None:
    """Run the handlers of the event's type (any frozen dataclass defined here). When
    the outermost announcement's handlers (and those of the announcements they make)
    have all run, what they gave to `collect` is written."""
    if _announcing.depth == 0:
        _announcing.collected = {}  # whatever a failed announcement left is dropped
        _announcing.memo = {}
    _announcing.depth += 1
    try:
        for handler in list(_handlers.get(type(event), ())):
            handler(event)
    finally:
        _announcing.depth -= 1
    if _announcing.depth == 0:
        collected, _announcing.collected = _announcing.collected, {}
        _announcing.memo = {}
        for flush, items in collected.values():
            flush(items)


def collect(key: str, items: list[Any], flush: Callable[[list[Any]], None]) -> None:
    """Add `items` to what the announcement being made collects under `key`; when it
    is over, `flush` gets them all at once, still inside the writer's transaction
    (outside an announcement, at once). A reaction that several events of one write
    reach (a customer created, and its first risk score) writes once through it."""
    if _announcing.depth == 0:
        flush(items)
        return
    _announcing.collected.setdefault(key, (flush, []))[1].extend(items)


def memo[T](key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()` once per `key` for the whole announcement being made (outside one,
    every time): the reactions to one write (a customer created, and its first risk
    score) share what they read for it, such as an organisation's webhook endpoints."""
    if _announcing.depth == 0:
        return compute()
    if key not in _announcing.memo:
        _announcing.memo[key] = compute()
    return cast(T, _announcing.memo[key])


def actor_names(actor: Any) -> tuple[str, str | None]:
    """(channel, actor id) of an `organisations.audit.Actor`-like object, or system:
    what every event carries as `channel` and `actor_id`."""
    if actor is None:
        return "system", None
    if getattr(actor, "api_key", None) is not None:
        return actor.channel, f"api_key:{actor.api_key.pk}"
    if getattr(actor, "user", None) is not None:
        return actor.channel, f"user:{actor.user.pk}"
    return actor.channel, None


def customers_written(
    *,
    organisation_id: UUID,
    created_ids: Collection[int] = (),
    changed_fields: Mapping[int, Collection[str]] | None = None,
    actor: Any = None,
    customers: Collection[Any] = (),
) -> None:
    """Announce created and changed customers; nothing when both are empty.
    `customers`: the written instances the writer holds (see `CustomersWritten`)."""
    created = frozenset(created_ids)
    changed = {
        pk: frozenset(names)
        for pk, names in (changed_fields or {}).items()
        if names and pk not in created
    }
    if not created and not changed:
        return
    channel, actor_id = actor_names(actor)
    announce(
        CustomersWritten(
            organisation_id=organisation_id,
            created_ids=created,
            changed_fields=changed,
            channel=channel,
            actor_id=actor_id,
            customers={customer.pk: customer for customer in customers},
        )
    )


def connections_changed(
    *,
    organisation_id: UUID,
    customer_ids: Collection[int],
    holder_ids: Collection[int],
    added: Collection[int] = (),
    updated: Collection[int] = (),
    removed: Collection[RemovedConnection] = (),
    actor: Any = None,
) -> None:
    """Announce added, updated and removed connections; nothing when all are empty."""
    if not (added or updated or removed):
        return
    channel, actor_id = actor_names(actor)
    announce(
        ConnectionsChanged(
            organisation_id=organisation_id,
            customer_ids=frozenset(customer_ids),
            holder_ids=frozenset(holder_ids),
            added=tuple(sorted(added)),
            updated=tuple(sorted(updated)),
            removed=tuple(sorted(removed, key=lambda c: c.id)),
            channel=channel,
            actor_id=actor_id,
        )
    )


@dataclass(frozen=True, slots=True)
class UploadCompleted:
    """A bulk upload finished and its counts are written (announced once per upload,
    in the transaction that writes its rows)."""

    organisation_id: UUID
    upload_id: int
    channel: str = "import"
    actor_id: str | None = None


@dataclass(frozen=True, slots=True)
class ClientConnected:
    """A customer was linked to a service provider (seed 004's migration workflow)."""

    organisation_id: UUID
    customer_id: int
    connection_id: str
    service_provider: str
    channel: str = "system"
    actor_id: str | None = None


@dataclass(frozen=True, slots=True)
class RiskChange:
    """One customer's risk before and after a rescoring (level None: never scored)."""

    customer_id: int
    old_score: int | None
    new_score: int
    old_level: str | None
    new_level: str
    reference_id: str


@dataclass(frozen=True, slots=True)
class RiskChanged:
    """Risk scores moved (`risk.changed`): only customers whose score or level changed.

    `reason` says what triggered the rescoring ("Sessions changed", "Risk rules version
    3", …). Risk writes announce this alone, never `CustomersWritten`, so rescoring does
    not feed back into itself.
    """

    organisation_id: UUID
    changes: tuple[RiskChange, ...]
    reason: str
    channel: str = "system"
    actor_id: str | None = None

    @property
    def level_changed_ids(self) -> frozenset[int]:
        return frozenset(c.customer_id for c in self.changes if c.old_level != c.new_level)


@dataclass(frozen=True, slots=True)
class SessionsWritten:
    """KYC sessions were created or updated (`session.updated`): session ids by customer."""

    organisation_id: UUID
    created_ids: frozenset[int]
    updated_ids: frozenset[int]
    customer_ids: frozenset[int]
    channel: str = "system"
    actor_id: str | None = None


def risk_changed(
    *, organisation_id: UUID, changes: Collection[RiskChange], reason: str, actor: Any = None
) -> None:
    """Announce moved risk scores; nothing when there are none."""
    if not changes:
        return
    channel, actor_id = actor_names(actor)
    announce(
        RiskChanged(
            organisation_id=organisation_id,
            changes=tuple(sorted(changes, key=lambda c: c.customer_id)),
            reason=reason,
            channel=channel,
            actor_id=actor_id,
        )
    )


def sessions_written(
    *,
    organisation_id: UUID,
    customer_ids: Collection[int],
    created_ids: Collection[int] = (),
    updated_ids: Collection[int] = (),
    actor: Any = None,
) -> None:
    """Announce created and updated sessions; nothing when both are empty."""
    if not created_ids and not updated_ids:
        return
    channel, actor_id = actor_names(actor)
    announce(
        SessionsWritten(
            organisation_id=organisation_id,
            created_ids=frozenset(created_ids),
            updated_ids=frozenset(updated_ids),
            customer_ids=frozenset(customer_ids),
            channel=channel,
            actor_id=actor_id,
        )
    )


@dataclass(frozen=True, slots=True)
class ScreeningHitsFound:
    """Screening recorded new (or reopened) hits: ids of `screening.ScreeningHit` rows,
    and the customers they belong to."""

    organisation_id: UUID
    hit_ids: tuple[int, ...]
    customer_ids: frozenset[int]
    channel: str = "system"
    actor_id: str | None = None


@dataclass(frozen=True, slots=True)
class ScreeningHitsRemoved:
    """Hits were deleted with their watchlist entries (gone from a new version of the
    list, or the list deleted): the customers they belonged to."""

    organisation_id: UUID
    customer_ids: frozenset[int]
    channel: str = "system"
    actor_id: str | None = None


@dataclass(frozen=True, slots=True)
class ScreeningHitsReviewed:
    """An analyst confirmed or dismissed hits (ids of `screening.ScreeningHit` rows)."""

    organisation_id: UUID
    hit_ids: tuple[int, ...]
    customer_ids: frozenset[int]
    channel: str = "system"
    actor_id: str | None = None
