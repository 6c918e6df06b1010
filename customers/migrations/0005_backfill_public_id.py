"""Every existing customer gets its own UUID; its history rows get the same one."""

import uuid

from django.db import migrations

BATCH = 2000


def backfill(apps, schema_editor):
    customer_model = apps.get_model("customers", "Customer")
    pending = customer_model.objects.filter(public_id__isnull=True).order_by("pk")
    while rows := list(pending.only("pk")[:BATCH]):
        for row in rows:
            row.public_id = uuid.uuid4()
        customer_model.objects.bulk_update(rows, ["public_id"])
    history_model = apps.get_model("customers", "HistoricalCustomer")
    public_ids = dict(customer_model.objects.values_list("pk", "public_id"))
    pending = history_model.objects.filter(public_id__isnull=True).order_by("pk")
    while rows := list(pending.only("pk", "id")[:BATCH]):
        for row in rows:
            row.public_id = public_ids.get(row.id) or uuid.uuid4()
        history_model.objects.bulk_update(rows, ["public_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_customer_public_id"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
