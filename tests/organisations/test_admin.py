"""API keys in the admin (shown once, revoked by an action) and superuser-only tenants."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from organisations.authentication import ApiKeyAuthentication
from organisations.models import ApiKey, Organisation, Scope, hash_key
from organisations.services import api_key_create
from tests.admin_support import make_staff, make_superuser

pytestmark = pytest.mark.django_db

KEYS = "/admin/organisations/apikey/"


@pytest.fixture
def key_manager(org):
    user = make_staff(org, username="keys")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="organisations",
            codename__in=["add_apikey", "change_apikey", "view_apikey"],
        )
    )
    return user


@pytest.fixture
def key_client(client, key_manager):
    client.force_login(key_manager)
    return client


def test_created_key_is_shown_once_and_not_stored(key_client, key_manager, org):
    response = key_client.post(
        f"{KEYS}add/", {"name": "core banking", "scopes": [Scope.KYC_READ, Scope.KYC_CREATE]}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw_key = response.context["raw_key"]
    assert '<code id="api-key-value"' in response.content.decode()
    assert raw_key in response.content.decode()

    api_key = ApiKey.objects.get()
    assert api_key.organisation == org
    assert api_key.scopes == ["kyc:read", "kyc:create"]
    assert api_key.key_hash == hash_key(raw_key)
    record = api_key.history.get()
    assert (record.history_user, record.history_channel) == (key_manager, "admin")

    # Never again: not on the list, not on the key's page, not in the session.
    for url in [KEYS, f"{KEYS}{api_key.pk}/change/"]:
        assert raw_key not in key_client.get(url).content.decode()
    assert raw_key not in str(dict(key_client.session))


def authenticate(raw_key: str):
    request = Request(APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {raw_key}"))
    return ApiKeyAuthentication().authenticate(request)[1]


def test_created_key_authenticates(key_client, org):
    response = key_client.post(f"{KEYS}add/", {"name": "n", "scopes": [Scope.KYC_READ]})
    assert authenticate(response.context["raw_key"]).organisation == org


def test_scopes_are_required(key_client):
    response = key_client.post(f"{KEYS}add/", {"name": "n"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"scopes": ["This field is required."]}
    assert not ApiKey.objects.exists()


def test_list_shows_prefix_and_usage_columns(key_client, org, other_org):
    mine, _ = api_key_create(organisation=org, scopes=[Scope.KYC_READ], name="mine")
    api_key_create(organisation=other_org, scopes=[Scope.KYC_READ], name="theirs")
    response = key_client.get(KEYS)
    assert [k.name for k in response.context["cl"].result_list] == ["mine"]
    html = response.content.decode()
    assert mine.prefix in html
    for column in ["Prefix", "Scopes", "Created at", "Last used at", "Revoked at"]:
        assert column in html


def test_revoke_action(key_client, org):
    api_key, raw = api_key_create(organisation=org, scopes=[Scope.KYC_READ], name="old")
    response = key_client.post(
        KEYS, {"action": "revoke_selected", "_selected_action": [api_key.pk]}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == ["1 API key(s) revoked."]
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert api_key.history.latest().history_channel == "admin"
    with pytest.raises(AuthenticationFailed, match="Invalid or revoked API key"):
        authenticate(raw)


def test_superuser_chooses_the_organisation(client, org, other_org):
    client.force_login(make_superuser())
    response = client.post(
        f"{KEYS}add/", {"organisation": other_org.pk, "name": "n", "scopes": [Scope.KYC_READ]}
    )
    assert response.status_code == 200
    assert ApiKey.objects.get().organisation == other_org


def test_keys_are_not_deleted(key_client, org):
    api_key, _ = api_key_create(organisation=org, scopes=[Scope.KYC_READ])
    assert key_client.get(f"{KEYS}{api_key.pk}/delete/").status_code == 403


def test_organisations_are_for_superusers(client, org):
    client.force_login(make_staff(org))
    assert client.get("/admin/organisations/organisation/").status_code == 403
    assert client.get("/admin/organisations/membership/").status_code == 403

    client.force_login(make_superuser())
    response = client.post(
        "/admin/organisations/organisation/add/",
        {
            "name": "New Bank",
            "slug": "new-bank",
            "ownership_threshold": "25",
            "kyb_min_shareholders": "1",
            "kyb_min_authorized_persons": "1",
            "kyb_min_total_shareholding": "51",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    created = Organisation.objects.get(slug="new-bank")
    assert created.history.get().history_channel == "admin"
