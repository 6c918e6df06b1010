from datetime import UTC, datetime
from typing import Any

from rest_framework import serializers


def iso_ms(value: datetime | None) -> str | None:
    """`2025-06-27T09:23:00.790Z`: UTC, milliseconds, Z suffix (the API's one date-time format)."""
    if value is None:
        return None
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class IsoMillisDateTimeField(serializers.DateTimeField):
    def to_representation(self, value: Any) -> str:
        return iso_ms(value) or ""
