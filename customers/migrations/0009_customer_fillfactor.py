"""Room on each page of the customer table for updated rows (PostgreSQL fillfactor).

An update that changes no indexed column can stay on the row's page (a HOT update)
and skip the table's six indexes, but only where the page has room: a bulk import
fills pages to the brim, then writes every company again in its connection phase
(import digest, updated_at), and risk scoring writes each new customer's score.
At 80% the connection phase's owner update took 0.36 s instead of 0.92 s for 33,000
companies (docs/performance.md). Rows written before keep their pages until rewritten.
"""

from django.db import migrations


def _set(fillfactor: str):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE customers_customer {fillfactor}")

    return run


class Migration(migrations.Migration):
    dependencies = [("customers", "0008_customer_monitoring_schedule")]

    operations = [
        migrations.RunPython(_set("SET (fillfactor = 80)"), _set("RESET (fillfactor)")),
    ]
