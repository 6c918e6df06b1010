from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    name = "organisations"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from organisations import (
            audit,  # noqa: F401  (connects the history signal)
            schema,  # noqa: F401  (registers the OpenAPI auth scheme)
        )
        from organisations.groups import sync_staff_groups_after_migrate

        post_migrate.connect(sync_staff_groups_after_migrate, sender=self)
