"""Customers get a stable public UUID (the client API's `id`), in three migrations: a
nullable column (here), the backfill (0005), then unique and required (0006)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_customer_import_digest"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="historicalcustomer",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
    ]
