from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from organisations.models import ApiKey, Organisation, Scope, hash_key


def organisation_create(*, name: str, slug: str) -> Organisation:
    organisation = Organisation(name=name, slug=slug)
    organisation.full_clean()
    organisation.save()
    return organisation


def parse_scopes(raw: str | Iterable[str]) -> list[str]:
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    scopes = [item.strip() for item in items if item.strip()]
    unknown = [scope for scope in scopes if scope not in Scope.values]
    if unknown:
        raise ValidationError(
            f"Unknown scope(s): {', '.join(unknown)}. Valid scopes: {', '.join(Scope.values)}",
            code="invalid_scope",
        )
    if not scopes:
        raise ValidationError("Give at least one scope.", code="invalid_scope")
    return sorted(set(scopes), key=Scope.values.index)


@transaction.atomic
def api_key_create(
    *, organisation: Organisation, scopes: Iterable[str], name: str = "API key"
) -> tuple[ApiKey, str]:
    """Create a key and return it with the raw secret, which is never stored."""
    raw_key = ApiKey.generate_raw_key()
    api_key = ApiKey(
        organisation=organisation,
        name=name,
        prefix=raw_key[:12],
        key_hash=hash_key(raw_key),
        scopes=parse_scopes(scopes),
    )
    api_key.full_clean()
    api_key.save()
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key
