"""The three actors of every API test: A's full key, A's read-only key, B's key."""

from collections.abc import Iterator

import pytest
from rest_framework.test import APIClient

from kycregistry import events
from organisations.models import Organisation, Scope
from organisations.services import api_key_create
from tests.factories import OrganisationFactory

ALL_SCOPES = [Scope.KYC_READ, Scope.KYC_CREATE, Scope.KYC_DELETE, Scope.WEBHOOKS_MANAGE]


def _client_for(organisation: Organisation, scopes: list[str]) -> APIClient:
    api_key, raw = api_key_create(organisation=organisation, scopes=scopes, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.api_key = api_key  # type: ignore[attr-defined]
    client.organisation = organisation  # type: ignore[attr-defined]
    return client


@pytest.fixture
def org() -> Organisation:
    return OrganisationFactory(name="Acme Compliance", slug="acme")


@pytest.fixture
def other_org() -> Organisation:
    return OrganisationFactory(name="Outsider Bank", slug="outsider")


@pytest.fixture
def api(org: Organisation) -> APIClient:
    """Organisation A, every scope."""
    return _client_for(org, ALL_SCOPES)


@pytest.fixture
def readonly_api(org: Organisation) -> APIClient:
    """Organisation A, kyc:read only."""
    return _client_for(org, [Scope.KYC_READ])


@pytest.fixture
def outsider_api(other_org: Organisation) -> APIClient:
    """Organisation B, every scope: gets 404 for anything of A."""
    return _client_for(other_org, ALL_SCOPES)


@pytest.fixture
def anon_api() -> APIClient:
    return APIClient()


@pytest.fixture
def announced() -> Iterator[list[events.Event]]:
    """Every event announced through kycregistry.events while the test runs, in order."""
    seen: list[events.Event] = []
    for event_type in (events.CustomersWritten, events.ConnectionsChanged):
        events.subscribe(event_type, seen.append)
    yield seen
    for event_type in (events.CustomersWritten, events.ConnectionsChanged):
        events.unsubscribe(event_type, seen.append)
