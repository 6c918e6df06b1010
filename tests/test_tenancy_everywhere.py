"""Tenancy everywhere: every API route and every admin page is scoped to the caller's
organisation, and routing does not depend on the order of the routes.

The routes and admin models are discovered by walking the URLconf and the admin site,
so a route or model added later is checked too: an unknown one fails these tests until
it is described here (never skipped silently).
"""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from simple_history.admin import SimpleHistoryAdmin

from clients.models import ClientRelation, PortalUser, ServiceProviderRecord
from customers.models import Customer, CustomerFieldDefinition
from imports.models import BulkUpload, UploadStatus
from kyc.models import RiskRules, Session
from kyc.rules import DEFAULT_RULES
from kycregistry.admin import TenantHistoryMixin, TenantScopedMixin
from kycregistry.api.routing import FIXED_CUSTOMER_SEGMENTS
from kycregistry.api.scoping import ScopedAPIMixin
from organisations.admin import SuperuserOnlyMixin
from organisations.models import ApiKey, Membership, Organisation
from relations.models import Connection, Role
from tests.admin_support import make_staff, make_superuser
from tests.factories import CompanyFactory, ConnectionFactory, FieldDefinitionFactory, PersonFactory
from tests.screening.factories import screening_hit_for
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db

API = "api/v1/"
PUBLIC = {"schema/", "docs/"}  # they describe the API; no organisation's data
METHODS = ("get", "post", "put", "patch", "delete")

# Every API route with a path parameter → the 404 message another organisation's key
# gets. A new route is added here (the tests fail until it is).
PARAM_ROUTES = {
    "customers/<ref:reference_id>": "Customer not found",
    "customers/<ref:reference_id>/connections": "Customer not found",
    "customers/<ref:reference_id>/connections/<str:connection_id>": "Customer not found",
    "customers/<ref:reference_id>/organization": "Customer not found",
    "customers/<ref:reference_id>/organization/bods": "Customer not found",
    "customers/<ref:reference_id>/organization/ftm": "Customer not found",
    "customers/<ref:reference_id>/approve": "Customer not found",
    "customers/<ref:reference_id>/reject": "Customer not found",
    "customer-fields/<str:key>": "Customer field not found",
    "customers/bulk-upload/<int:pk>": "Bulk upload not found",
    "customers/bulk-upload/<int:pk>/report": "Bulk upload not found",
    "sessions/<str:public_id>": "Session not found",
    "customers/<ref:reference_id>/sessions": "Customer not found",
    "customers/<ref:reference_id>/risk-profile": "Customer not found",
    "webhooks/<str:endpoint_id>": "Webhook endpoint not found",
    "webhooks/<str:endpoint_id>/rotate-secret": "Webhook endpoint not found",
    "webhooks/<str:endpoint_id>/test": "Webhook endpoint not found",
    "webhooks/<str:endpoint_id>/deliveries": "Webhook endpoint not found",
    "webhooks/<str:endpoint_id>/deliveries/<str:delivery_id>/retry": "Webhook endpoint not found",
    "clients/<str:client_id>": "Client not found",
    "clients/<str:client_id>/relations": "Client not found",
    "clients/<str:client_id>/relations/<str:relation_id>": "Client not found",
    "customers/business/<str:business_user_id>/related-persons": "Business customer not found",
    "watchlists/<int:watchlist_id>": "Watchlist not found",
    "customers/<ref:reference_id>/screen": "Customer not found",
    "customers/<ref:reference_id>/screening-hits": "Customer not found",
    "customers/<ref:reference_id>/monitor": "Customer not found",
    "screening-hits/<int:hit_id>": "Screening hit not found",
}
# Routes answering seed 003's error body {"traceId", "message"} instead.
TRACE_ROUTES = {"customers/business/<str:business_user_id>/related-persons"}
# API routes without a parameter: they list or create the caller's own rows only.
FIXED_ROUTES = {
    "customers",
    "customer-fields",
    "customers/bulk-upload",
    "customers/download-template",
    "webhooks",
    "clients",
    "sessions",
    "risk-rules",
    # The provider's name is the caller's own namespace: records load into its organisation.
    "service-providers/<str:name>/records",
    "watchlists",
    "schema",
    "docs",
}


# --- walking the URLconf --------------------------------------------------------------


def walk(
    patterns: list[URLPattern | URLResolver], prefix: str = ""
) -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, route)
        else:
            yield route, pattern


def api_patterns() -> list[tuple[str, URLPattern]]:
    """(route under /api/v1/, pattern) of every API route, slash forms included."""
    return [
        (route.removeprefix(API), pattern)
        for route, pattern in walk(get_resolver().url_patterns)
        if route.startswith(API)
    ]


def view_class(pattern: URLPattern) -> type:
    callback: Any = pattern.callback
    return callback.cls if hasattr(callback, "cls") else callback.view_class


def handlers(view: type) -> list[str]:
    return [method for method in METHODS if hasattr(view, method)]


def fill(route: str, values: dict[str, Any]) -> str:
    """`route` with each `<converter:name>` replaced by values[name]."""
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)


def test_every_api_view_derives_from_the_scoping_mixin():
    views = {route: view_class(pattern) for route, pattern in api_patterns() if route not in PUBLIC}
    assert views, "no API route found"
    unscoped = sorted(
        route for route, view in views.items() if not issubclass(view, ScopedAPIMixin)
    )
    assert unscoped == []


def test_every_api_route_is_described_here():
    """A new route fails here until its outsider check (PARAM_ROUTES) is written."""
    routes = {route.removesuffix("/") for route, _pattern in api_patterns()}
    assert routes == set(PARAM_ROUTES) | FIXED_ROUTES


def test_every_api_route_accepts_the_trailing_slash_out_of_the_schema():
    patterns = dict(api_patterns())
    for route in set(PARAM_ROUTES) | (FIXED_ROUTES - {"schema", "docs"}):
        bare, slash = patterns[route], patterns[f"{route}/"]
        assert view_class(bare) is view_class(slash), route
        assert getattr(slash.callback, "initkwargs", {}).get("schema", ...) is None, route
        assert "schema" not in getattr(bare.callback, "initkwargs", {}), route


def test_a_fixed_segment_under_customers_is_never_a_reference_id():
    """Route order must not matter: `customers/<ref>` must not catch a fixed path."""
    segments = {route.split("/")[1] for route, _pattern in api_patterns() if "/" in route}
    fixed = {
        segment
        for route, _pattern in api_patterns()
        if route.startswith("customers/")
        and (segment := route.split("/")[1])
        and not segment.startswith("<")
    }
    assert segments
    assert fixed == FIXED_CUSTOMER_SEGMENTS


# --- objects of organisation A ---------------------------------------------------------


@pytest.fixture
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def theirs(org, _media_root) -> dict[str, Any]:
    """Organisation A's rows, one of each kind a path can name."""
    company = CompanyFactory(organisation=org, reference_id="A-CO")
    person = PersonFactory(organisation=org, reference_id="A-P")
    connection = ConnectionFactory(
        customer=company, connected_customer=person, role=Role.SHAREHOLDER
    )
    definition = FieldDefinitionFactory(organisation=org, key="risk_note")
    upload = BulkUpload.objects.create(
        organisation=org,
        file="uploads/a.xlsx",
        file_name="a.xlsx",
        status=UploadStatus.COMPLETED,
    )
    upload.report.save("report.xlsx", ContentFile(b"the report"), save=True)
    # A loopback URL: delivery refuses it before connecting anywhere.
    endpoint = Endpoint.objects.create(organisation=org, url="https://127.0.0.1:9/hook")
    delivery = Delivery.objects.create(
        organisation=org, endpoint=endpoint, event_type="ping", body="{}"
    )
    relation = ClientRelation.objects.create(
        organisation=org, company=company, person=person, relation="shareholder"
    )
    session = Session.objects.create(organisation=org, customer=person)
    rules = RiskRules.objects.create(organisation=org, version=1, rules=DEFAULT_RULES)
    hit = screening_hit_for(company)
    return {
        "session": session,
        "rules": rules,
        "company": company,
        "person": person,
        "connection": connection,
        "definition": definition,
        "upload": upload,
        "endpoint": endpoint,
        "delivery": delivery,
        "values": {
            "reference_id": company.reference_id,
            "connection_id": connection.pk,
            "key": definition.key,
            "pk": upload.pk,
            "endpoint_id": endpoint.pk,
            "public_id": session.public_id,
            "delivery_id": delivery.webhook_id,
            "client_id": company.public_id,
            "relation_id": relation.public_id,
            "business_user_id": company.public_id,
            "name": "railsbank",
            "watchlist_id": hit.entry.watchlist_id,
            "hit_id": hit.pk,
        },
        "hit": hit,
    }


def snapshot(org: Organisation) -> dict[str, Any]:
    return {
        "customers": sorted(
            Customer.objects.filter(organisation=org).values_list(
                "reference_id", "status", "onboarding_status", "name", "updated_at"
            )
        ),
        "connections": sorted(
            Connection.objects.filter(organisation=org).values_list("pk", "role", "valid_to")
        ),
        "fields": sorted(
            CustomerFieldDefinition.objects.filter(organisation=org).values_list("key", "name")
        ),
        "uploads": sorted(BulkUpload.objects.filter(organisation=org).values_list("pk")),
        "endpoints": sorted(
            Endpoint.objects.filter(organisation=org).values_list("pk", "secret", "enabled")
        ),
        "deliveries": sorted(
            Delivery.objects.filter(organisation=org).values_list("webhook_id", "attempts")
        ),
    }


def test_another_organisations_key_gets_404_on_every_route_and_method(
    api, outsider_api, org, theirs
):
    before = snapshot(org)
    checked = 0
    for route, pattern in api_patterns():
        bare = route.removesuffix("/")
        if bare not in PARAM_ROUTES:
            continue
        url = "/api/v1/" + fill(route, theirs["values"])
        for method in handlers(view_class(pattern)):
            response = getattr(outsider_api, method)(url, {}, format="json")
            assert response.status_code == 404, (method, url)
            if bare in TRACE_ROUTES:
                assert response.json() == {
                    "traceId": response["X-Request-ID"],
                    "message": PARAM_ROUTES[bare],
                }
                checked += 1
                continue
            assert response.json() == {
                "message": PARAM_ROUTES[bare],
                "error": "Not Found",
                "statusCode": 404,
            }, (method, url)
            checked += 1
    assert checked >= 2 * len(PARAM_ROUTES)
    assert snapshot(org) == before
    # The same paths are found with A's own key (so the 404 above is the tenancy's).
    for route, pattern in api_patterns():
        if route.removesuffix("/") in PARAM_ROUTES:
            url = "/api/v1/" + fill(route, theirs["values"])
            method = next(m for m in handlers(view_class(pattern)) if m != "delete")
            response = getattr(api, method)(url, {}, format="json")
            assert response.status_code in (200, 202, 400), (method, url, response.content[:200])


def test_a_connection_of_another_organisation_is_not_found_under_an_own_customer(
    outsider_api, other_org, theirs
):
    """Same referenceId in B, A's connection id: B's customer has no such connection."""
    CompanyFactory(organisation=other_org, reference_id=theirs["company"].reference_id)
    url = f"/api/v1/customers/A-CO/connections/{theirs['connection'].pk}"
    for method in ("patch", "delete"):
        response = getattr(outsider_api, method)(url, {}, format="json")
        assert response.status_code == 404
        assert response.json()["message"] == "Connection not found"
    assert Connection.objects.filter(pk=theirs["connection"].pk).exists()


def test_every_path_answers_the_same_with_and_without_the_trailing_slash(api, theirs):
    """`customers/bulk-upload/` once answered "Customer not found": no path may differ."""
    for route, pattern in api_patterns():
        if route.endswith("/"):
            continue
        url = "/api/v1/" + fill(route, theirs["values"])
        # GET only: a handler without GET answers 405, which still proves the view.
        bare, slash = api.get(url), api.get(f"{url}/")
        assert bare.status_code == slash.status_code, url
        assert bare.status_code != 404, url
        assert resolve(f"{url}/").func.cls is resolve(url).func.cls is view_class(pattern), url


def test_bulk_upload_list_with_a_trailing_slash(api, theirs):
    response = api.get("/api/v1/customers/bulk-upload/")
    assert response.status_code == 200
    assert response.json()["message"] == "Bulk uploads fetched successfully"
    assert [row["id"] for row in response.json()["data"]] == [theirs["upload"].pk]


def test_each_path_matches_exactly_one_route(theirs):
    """Route order does not matter: no path is claimed by two routes."""
    patterns = [pattern for _route, pattern in api_patterns()]
    for route, _pattern in api_patterns():
        path = fill(route, theirs["values"])
        matching = [p for p in patterns if p.resolve(path) is not None]
        assert len(matching) == 1, (path, [str(p.pattern) for p in matching])
    # `business` only prefixes seed 003's related-persons route.
    for segment in FIXED_CUSTOMER_SEGMENTS - {"business"}:
        for suffix in ("", "/"):
            match = resolve(f"/api/v1/customers/{segment}{suffix}")
            assert "reference_id" not in match.kwargs


# --- the admin -------------------------------------------------------------------------


def organisation_path(model: type[models.Model], depth: int = 2) -> str | None:
    """The foreign-key path from `model` to Organisation (`organisation`,
    `customer__organisation`), or None."""
    if model is Organisation:
        return ""
    if depth == 0:
        return None
    for field in model._meta.get_fields():
        if not (field.concrete and field.is_relation and (field.many_to_one or field.one_to_one)):
            continue
        related = field.related_model
        if related is Organisation:
            return field.name
        if isinstance(related, type) and related is not model:
            rest = organisation_path(related, depth - 1)
            if rest:
                return f"{field.name}__{rest}"
    return None


# Registered models that hold no organisation's data.
NOT_TENANT_OWNED = {"auth.user", "auth.group", "django_tasks_database.dbtaskresult"}
SUPERUSER_ONLY = {"organisations.organisation", "organisations.membership"}


def test_every_registered_model_is_known():
    labels = {model._meta.label_lower for model in admin.site._registry}
    tenant_owned = {
        model._meta.label_lower
        for model in admin.site._registry
        if organisation_path(model) not in (None, "")
    }
    assert labels == tenant_owned | NOT_TENANT_OWNED | {"organisations.organisation"}
    assert not tenant_owned & NOT_TENANT_OWNED


def test_every_tenant_owned_admin_and_inline_derives_from_the_tenant_mixin():
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        if label in SUPERUSER_ONLY:
            assert isinstance(model_admin, SuperuserOnlyMixin), label
        if organisation_path(model) is None:
            continue
        if label != "organisations.organisation":
            assert isinstance(model_admin, TenantScopedMixin), label
        if isinstance(model_admin, SimpleHistoryAdmin) and label not in SUPERUSER_ONLY:
            assert isinstance(model_admin, TenantHistoryMixin), label
        for inline in model_admin.inlines:
            assert organisation_path(inline.model), inline
            assert issubclass(inline, TenantScopedMixin), inline


@pytest.fixture
def all_permissions_staff(other_org):
    """A staff user of B with every permission: only tenancy can stop them."""
    user = make_staff(other_org, username="b-staff", group="")
    user.user_permissions.add(*Permission.objects.all())
    return user


@pytest.fixture
def admin_objects(org, api, theirs) -> dict[str, models.Model]:
    a_staff = make_staff(org, username="a-staff")
    return {
        "customers.customer": theirs["company"],
        "customers.customerfielddefinition": theirs["definition"],
        "relations.connection": theirs["connection"],
        "imports.bulkupload": theirs["upload"],
        "screening.watchlist": theirs["hit"].entry.watchlist,
        "screening.screeninghit": theirs["hit"],
        "organisations.apikey": ApiKey.objects.get(pk=api.api_key.pk),
        "organisations.membership": Membership.objects.get(user=a_staff),
        "organisations.organisation": org,
        "webhooks.endpoint": theirs["endpoint"],
        "kyc.session": theirs["session"],
        "kyc.riskrules": theirs["rules"],
        "clients.portaluser": PortalUser.objects.create(
            organisation=org, customer=theirs["person"], email="a@example.com"
        ),
        "clients.serviceproviderrecord": ServiceProviderRecord.objects.create(
            organisation=org, service_provider="railsbank", source_id="S-1", client={}
        ),
        "webhooks.delivery": theirs["delivery"],
    }


# simple_history's history page calls select_related() without fields (its own warning).
@pytest.mark.filterwarnings("ignore:Calling select_related\\(\\) with no arguments")
def test_staff_of_another_organisation_cannot_open_a_change_or_history_page(
    client, all_permissions_staff, admin_objects
):
    superuser_client = client.__class__()
    superuser_client.force_login(make_superuser())
    client.force_login(all_permissions_staff)
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        if label in NOT_TENANT_OWNED:
            continue
        assert label in admin_objects, f"add an object of {label} to admin_objects"
        obj = admin_objects[label]
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/{obj.pk}"
        pages = [f"{base}/change/"]
        if isinstance(model_admin, SimpleHistoryAdmin):
            pages.append(f"{base}/history/")
        for page in pages:
            assert superuser_client.get(page).status_code == 200, page  # the page exists
            response = client.get(page)
            if response.status_code == 302:
                assert response["Location"] == "/admin/", page
            else:
                assert response.status_code in (403, 404), (page, response.status_code)
            assert str(obj).encode() not in response.content, page
        # Nor can they change it.
        response = client.post(f"{base}/change/", {})
        assert response.status_code in (302, 403), label
        if response.status_code == 302:
            assert response["Location"] == "/admin/", label


# Admin pages with a pk outside the ModelAdmins' own views → what the pk names.
CUSTOM_ADMIN_PAGES = {
    "customer-map": "customer",
    "customer-map-data": "customer",
    "customer-structure": "customer",
    "customer-structure-bods": "customer",
    "customer-structure-ftm": "customer",
    "customers-bulk-upload-status": "upload",
    "customers-bulk-upload-progress": "upload",
    "customers-bulk-upload-report": "upload",
}


def test_custom_admin_pages_of_another_organisation_are_404(client, all_permissions_staff, theirs):
    superuser_client = client.__class__()
    superuser_client.force_login(make_superuser())
    client.force_login(all_permissions_staff)
    objects = {"customer": theirs["company"], "upload": theirs["upload"]}
    found = set()
    for route, pattern in walk(get_resolver().url_patterns):
        if not route.startswith("admin/") or "<int:pk>" not in route or not pattern.name:
            continue
        assert pattern.name in CUSTOM_ADMIN_PAGES, f"describe admin page {pattern.name}"
        found.add(pattern.name)
        url = "/" + fill(route, {"pk": objects[CUSTOM_ADMIN_PAGES[pattern.name]].pk})
        assert superuser_client.get(url).status_code == 200, url
        assert client.get(url).status_code == 404, url
    assert found == set(CUSTOM_ADMIN_PAGES)
