"""Tenancy in one place: every API view reads its organisation from the API key."""

from contextvars import Token
from typing import Any

from django.db.models import QuerySet
from rest_framework.request import Request

from organisations.audit import Actor, Channel, begin_actor, end_actor
from organisations.models import ApiKey, Organisation


def request_organisation(request: Request) -> Organisation:
    api_key = request.auth
    assert isinstance(api_key, ApiKey), "HasScope runs before any view code"
    return api_key.organisation


class ScopedAPIMixin:
    """Builds querysets from the caller's organisation, and names the calling API key
    as the actor of every write the handler makes (the audit record's "who")."""

    request: Request
    base_queryset: QuerySet[Any] | None = None

    @property
    def organisation(self) -> Organisation:
        return request_organisation(self.request)

    def get_queryset(self) -> QuerySet[Any]:
        assert self.base_queryset is not None, f"{type(self).__name__} sets base_queryset"
        if getattr(self, "swagger_fake_view", False):  # OpenAPI generation: no request key
            return self.base_queryset.none()
        return self.base_queryset.for_organisation(self.organisation)  # type: ignore[attr-defined]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        self._actor_token: Token[Actor | None] | None = begin_actor(
            Actor(channel=Channel.API, api_key=api_key)
        )

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        token = getattr(self, "_actor_token", None)
        if token is not None:
            end_actor(token)
            self._actor_token = None
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
