"""The stored customers of the next batch, read while this batch is planned.

A batch's plan starts by reading the stored customers its rows have
(`Importer.plan`): on PostgreSQL a round trip during which the planning thread only
waits, most of the planning of a file imported again. The file's index says which
referenceIds each batch has before its rows arrive, so a thread with a connection of
its own reads the next batch's meanwhile. A plan takes a read made for exactly its
rows' referenceIds, and reads itself otherwise.

The read is made one batch earlier than the plan would make it. The batches before
write only their own rows' customers and those of earlier rows, so none of them changes
what it found; what others change under the import meanwhile is found when the batch
is written, as it is after a read made by the plan itself.
"""

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db import connections

Stored = dict[str, dict[str, Any]]


class ReadAhead:
    """`request(start, refs)` reads the stored customers of `refs` on the reading
    thread; `take(start, refs)` returns that read when it was made for the batch at
    `start` and for these `refs` (None otherwise)."""

    def __init__(self, read: Callable[[list[str]], Stored]) -> None:
        self.read = read
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-upload-reader")
        self.pending: dict[int, tuple[list[str], Future[Stored]]] = {}

    def request(self, start: int, refs: list[str]) -> None:
        if refs and start not in self.pending:
            self.pending[start] = (refs, self.pool.submit(self.read, refs))

    def take(self, start: int, refs: list[str]) -> Stored | None:
        requested = self.pending.pop(start, None)
        if requested is None:
            return None
        asked, future = requested
        found = future.result()
        return found if asked == refs else None

    def close(self) -> None:
        for _, future in self.pending.values():
            future.cancel()
        self.pool.submit(connections.close_all)  # the reading thread's connection
        self.pool.shutdown(wait=True)
