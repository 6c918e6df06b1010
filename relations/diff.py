"""What turns a customer's stored connections into the ones asked for: the one diff that
the connection services and the bulk-import planner both use.

A stored connection whose (holder, role, validFrom, validTo) is asked for again is
kept, with its id and createdAt; only its percentage may change. The others are
removed and the missing ones created.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from relations.validation import ConnectItem

type ConnectionKey = tuple[int, str, date | None, date | None]


@dataclass
class ConnectionDiff[T]:
    create: list[tuple[int, ConnectItem]] = field(default_factory=list)  # (holder id, item)
    update: list[tuple[T, Decimal | None]] = field(default_factory=list)  # (stored, new %)
    remove: list[T] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.create or self.update or self.remove)


def diff_connections[T](
    *,
    stored: Iterable[T],
    key: Callable[[T], ConnectionKey],
    percentage: Callable[[T], Decimal | None],
    wanted: Iterable[tuple[int, ConnectItem]],
) -> ConnectionDiff[T]:
    """`stored` are the customer's connections (model instances or rows, read through
    `key` and `percentage`); `wanted` the (holder id, item) pairs asked for."""
    pool = {key(connection): connection for connection in stored}
    diff: ConnectionDiff[T] = ConnectionDiff()
    for holder_id, item in wanted:
        kept = pool.pop((holder_id, item.role, item.valid_from, item.valid_to), None)
        if kept is None:
            diff.create.append((holder_id, item))
        elif percentage(kept) != item.ownership_percentage:
            diff.update.append((kept, item.ownership_percentage))
    diff.remove = list(pool.values())
    return diff
