import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_backfill_public_id"),
    ]

    operations = [
        migrations.AlterField(
            model_name="customer",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="historicalcustomer",
            name="public_id",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
    ]
