"""Tenancy in one place: every API view reads its organisation from the API key."""

from contextvars import Token
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework.request import Request

from kycregistry.compiled import CompiledQuery
from organisations.audit import Actor, Channel, begin_actor, end_actor
from organisations.models import ApiKey, Organisation

_M = TypeVar("_M", bound=Model)


def request_organisation(request: Request) -> Organisation:
    api_key = request.auth
    assert isinstance(api_key, ApiKey), "HasScope runs before any view code"
    return api_key.organisation


# drf-spectacular reads inherited docstrings: this one is also the OpenAPI description
# of every operation whose view has none of its own (a change to it changes the schema).
class ScopedAPIMixin:
    """The base of every API view: the caller's organisation comes from its API key, and
    every row a view reads is reached through `scoped` (or a selector given
    `self.organisation`), so no view filters by organisation by hand. It also names
    the calling API key as the actor of every write the handler makes (the audit
    record's "who")."""

    request: Request
    # The model of `get_queryset` (generic views such as ListAPIView call it).
    model: type[Model] | None = None

    @property
    def organisation(self) -> Organisation:
        return request_organisation(self.request)

    def scoped(self, model: type[_M]) -> QuerySet[_M]:
        """`model`'s rows of the caller's organisation (none while the OpenAPI schema
        is generated: there is no key then)."""
        manager: Any = model._default_manager
        if getattr(self, "swagger_fake_view", False):
            return manager.none()
        return manager.for_organisation(self.organisation)

    def run_scoped(self, query: CompiledQuery[_M], **values: Any) -> list[_M]:
        """What `scoped` is to a queryset, for a compiled query (kycregistry.compiled):
        written `for_organisation(ORGANISATION)` (organisations.querysets), its rows
        of the caller's organisation."""
        return query.run(organisation=self.organisation.pk, **values)

    def get_scoped(self, model: type[_M], not_found: str, **lookup: Any) -> _M:
        """The caller's row of `model` matching `lookup`, or Http404(not_found): another
        organisation's row is not found either."""
        row = self.scoped(model).filter(**lookup).first()
        if row is None:
            raise Http404(not_found)
        return row

    def get_queryset(self) -> QuerySet[Any]:
        assert self.model is not None, f"{type(self).__name__} sets model"
        return self.scoped(self.model)

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
