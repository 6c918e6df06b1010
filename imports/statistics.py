"""PostgreSQL's statistics of the organisation an import grows, kept up with it.

The import reads back by key what it writes: a batch's stored customers by referenceId
(`reference_id = ANY(…)`) and the client numbers already taken. PostgreSQL plans these
reads from its statistics, and while they do not know the organisation it takes it for
a small one and reads all of it through `customer_list_idx`, filtering the keys: fine
for a small organisation (~25 ms a batch at 100,000 customers), but the cost grows with
it (460 ms against 12 ms through the unique index at 1,000,000), and a 1,000,000-row
import took nearly five times as long to plan its last batches as its first.
Autovacuum analyses a table once a minute at best, and not at all where it is off; so,
as PostgreSQL's documentation advises after a bulk load, the import runs ANALYZE
itself, once the organisation has 200,000 customers and again each time it has grown
fourfold, and only of the columns those reads look up by (at 100,000 customers the
whole table took 330-470 ms, these three columns ~80 ms). Below 200,000 it does not:
measured at 100,000, the statistics made PostgreSQL scan the whole table instead, and
the import was slower (docs/performance.md).
"""

from typing import Any

from django.db import connection

from customers.models import Customer

# ANALYZE once the organisation has GROWTH times the customers it had at the last one
# (or before the import), counting no fewer than MIN_ROWS.
GROWTH = 4
MIN_ROWS = 50_000
# The columns those reads look customers up by.
COLUMNS = ["organisation_id", "reference_id", "client_number"]


class Statistics:
    """`grown(rows)` after each committed batch that created `rows` customers."""

    def __init__(self, organisation_id: Any) -> None:
        self.organisation_id = organisation_id
        self.enabled = connection.vendor == "postgresql"
        self.known: int | None = None  # the organisation's customers at the last ANALYZE
        self.added = 0  # customers created since

    def grown(self, rows: int) -> None:
        if not rows or not self.enabled:
            return
        self.added += rows
        if self.known is None:  # those before this import count as analysed
            count = Customer.objects.filter(organisation_id=self.organisation_id).count()
            self.known = count - self.added
        if self.known + self.added < GROWTH * max(self.known, MIN_ROWS):
            return
        quote = connection.ops.quote_name
        table = quote(Customer._meta.db_table)
        with connection.cursor() as cursor:
            # SKIP_LOCKED: never wait behind a VACUUM or ANALYZE of the table (autovacuum's
            # refreshes the statistics too).
            cursor.execute(f"ANALYZE (SKIP_LOCKED) {table} ({', '.join(map(quote, COLUMNS))})")
        self.known += self.added
        self.added = 0
