import json
import threading
import time
from copy import copy
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from organisations.models import ApiKey, Organisation, hash_key

# lastUsedAt is worth a write at most once a minute per key, not once a request.
LAST_USED_RESOLUTION = timedelta(minutes=1)

# A key and its organisation are kept in this process for KYC_API_KEY_CACHE_SECONDS:
# a request then reads only the key's revocation, scopes and last use, by its id, in
# one small query written out by hand (no ORM query to build, no models to make). A
# revoked key is refused at once; a change to the organisation reaches other
# processes within those seconds (this one at once: a save empties the cache).
_cache: dict[str, tuple[float, ApiKey]] = {}
_lock = threading.Lock()


def forget_cached_keys(**_kwargs: Any) -> None:
    with _lock:
        _cache.clear()


for _model in (ApiKey, Organisation):
    post_save.connect(forget_cached_keys, sender=_model, dispatch_uid=f"apikey-cache-{_model}")
    post_delete.connect(forget_cached_keys, sender=_model, dispatch_uid=f"apikey-del-{_model}")


def _load(key_hash: str) -> ApiKey | None:
    return ApiKey.objects.select_related("organisation").filter(key_hash=key_hash).first()


def _refresh(api_key: ApiKey) -> ApiKey | None:
    """`api_key` (a copy) with its revocation, scopes and last use as stored now."""
    table = ApiKey._meta.db_table
    quote = connection.ops.quote_name
    recent = timezone.now() - LAST_USED_RESOLUTION
    with connection.cursor() as cursor:
        cursor.execute(  # identifiers from the model, values as parameters
            f"SELECT {quote('revoked_at')} IS NULL, {quote('scopes')}, "  # noqa: S608
            f"{quote('last_used_at')} IS NOT NULL AND {quote('last_used_at')} > %s "
            f"FROM {quote(table)} WHERE {quote('id')} = %s",
            [recent, api_key.pk],
        )
        row = cursor.fetchone()
    if row is None or not row[0]:
        return None
    fresh = copy(api_key)
    scopes = row[1]
    fresh.scopes = json.loads(scopes) if isinstance(scopes, (str, bytes)) else scopes
    # Used within the minute: no write (the exact time is not needed); else written.
    fresh.last_used_at = timezone.now() if row[2] else None
    return fresh


def find_api_key(raw_key: str) -> ApiKey | None:
    """The active key of `raw_key`, its organisation attached; None if unknown or revoked."""
    key_hash = hash_key(raw_key)
    seconds = settings.KYC_API_KEY_CACHE_SECONDS
    now = time.monotonic()
    cached = _cache.get(key_hash)
    if cached is not None and cached[0] > now:
        api_key = _refresh(cached[1])
        if api_key is None:
            with _lock:
                _cache.pop(key_hash, None)
        return api_key
    api_key = _load(key_hash)
    if api_key is None or not api_key.is_active:
        return None
    if seconds > 0:
        with _lock:
            _cache[key_hash] = (now + seconds, api_key)
        api_key = copy(api_key)
    return api_key


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
        api_key = find_api_key(raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
        return (None, api_key)

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
