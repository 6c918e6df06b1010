from django.db import migrations


def create_staff_groups(apps, schema_editor):
    from organisations.groups import sync_staff_groups

    sync_staff_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("organisations", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("customers", "0001_initial"),
        ("relations", "0001_initial"),
    ]

    operations = [
        # Groups stay; deleting them on reverse would drop what staff were given.
        migrations.RunPython(create_staff_groups, migrations.RunPython.noop),
    ]
