from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from organisations.authentication import ApiKeyAuthentication
from organisations.models import ApiKey, Organisation, hash_key

pytestmark = pytest.mark.django_db


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


def command_error(*args: str) -> str:
    with pytest.raises(CommandError) as excinfo:
        run(*args)
    return str(excinfo.value)


def test_create_organisation_creates_it_with_command_channel():
    lines = run("create_organisation", "--name", "Demo Bank", "--slug", "demo")

    organisation = Organisation.objects.get(slug="demo")
    assert organisation.name == "Demo Bank"
    assert lines == ["Created organisation Demo Bank (slug demo)."]
    record = organisation.history.get()
    assert record.history_channel == "command"
    assert record.history_type == "+"


def test_create_organisation_refuses_a_taken_slug(org):
    message = command_error("create_organisation", "--name", "Again", "--slug", "acme")
    assert message == "An organisation with slug 'acme' already exists."


def test_create_organisation_refuses_an_invalid_slug():
    message = command_error("create_organisation", "--name", "Bad", "--slug", "not a slug!")
    assert message.startswith("slug: Enter a valid “slug”")
    assert not Organisation.objects.exists()


def test_create_api_key_prints_the_key_alone_on_the_last_line(org):
    lines = run(
        "create_api_key", "--organisation", "acme", "--scopes", "kyc:read,kyc:create", "--name=ci"
    )

    raw_key = lines[-1]
    api_key = ApiKey.objects.get()
    assert api_key.key_hash == hash_key(raw_key)
    assert raw_key.startswith("kyc_") and " " not in raw_key
    assert api_key.name == "ci"
    assert api_key.organisation == org
    assert api_key.scopes == ["kyc:read", "kyc:create"]
    assert raw_key not in "\n".join(lines[:-1])
    assert api_key.history.get().history_channel == "command"


def test_create_api_key_key_authenticates(org):
    raw_key = run("create_api_key", "--organisation", "acme", "--scopes", "kyc:read")[-1]

    request = Request(APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {raw_key}"))
    _user, api_key = ApiKeyAuthentication().authenticate(request)
    assert api_key.organisation == org
    assert api_key.scopes == ["kyc:read"]


def test_create_api_key_unknown_organisation():
    message = command_error("create_api_key", "--organisation", "nope", "--scopes", "kyc:read")
    assert message == "Organisation 'nope' not found."


def test_create_api_key_bad_scope(org):
    message = command_error("create_api_key", "--organisation=acme", "--scopes=kyc:read,kyc:fly")
    assert message == (
        "Unknown scope(s): kyc:fly. Valid scopes: kyc:read, kyc:create, kyc:delete, webhooks:manage"
    )
    assert not ApiKey.objects.exists()


def test_create_api_key_needs_a_scope(org):
    message = command_error("create_api_key", "--organisation", "acme", "--scopes", " , ")
    assert message == "Give at least one scope."
