import pytest
from django.conf import settings

on_postgres = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

postgres_only = pytest.mark.skipif(
    not on_postgres,
    reason="needs PostgreSQL: SQLite serialises writers, so there is no race to test",
)

postgres_behaviour = pytest.mark.skipif(
    not on_postgres, reason="PostgreSQL behaviour (SQLite differs)"
)
sqlite_behaviour = pytest.mark.skipif(on_postgres, reason="SQLite behaviour (PostgreSQL differs)")
