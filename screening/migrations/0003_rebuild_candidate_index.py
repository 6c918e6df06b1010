"""The candidate keys gained the first four letters with one of them left out: every
entry's keys are written again with the keys of the current code."""

from django.db import migrations

BATCH = 2000


def rebuild(apps, schema_editor):
    from screening.index import entry_keys
    from screening.matching import Subject

    entries = apps.get_model("screening", "WatchlistEntry").objects
    keys = apps.get_model("screening", "WatchlistKey").objects
    keys.all().delete()
    columns = ("pk", "watchlist_id", "schema", "name", "aliases")
    last = 0
    while True:
        rows = list(entries.filter(pk__gt=last).order_by("pk").values_list(*columns)[:BATCH])
        if not rows:
            return
        written = []
        for pk, watchlist_id, schema, name, aliases in rows:
            found, fewest = entry_keys(Subject.build(schema=schema, names=(name, *aliases)))
            written.extend(
                keys.model(watchlist_id=watchlist_id, entry_id=pk, key=key, name_tokens=fewest)
                for key in sorted(found)
            )
        keys.bulk_create(written, batch_size=BATCH)
        last = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [("screening", "0002_watchlist_import_job")]

    operations = [migrations.RunPython(rebuild, migrations.RunPython.noop)]
