from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from organisations.models import ApiKey, hash_key

# lastUsedAt is worth a write at most once a minute per key, not once a request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <key>` → (None, ApiKey); the key carries the tenant."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, raw_key = header.partition(" ")
        raw_key = raw_key.strip()
        # The scheme is case-insensitive (RFC 7235 §2.1): `bearer` works too.
        if keyword.lower() != self.keyword.lower() or not raw_key or " " in raw_key:
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header. Send 'Authorization: Bearer <key>'."
            )
        api_key = (
            ApiKey.objects.select_related("organisation").filter(key_hash=hash_key(raw_key)).first()
        )
        if api_key is None or not api_key.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
        return (None, api_key)

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
