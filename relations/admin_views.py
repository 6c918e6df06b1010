"""Admin pages of the ownership structure: the relationship map, its JSON
data, the structure as tables and its BODS / FollowTheMoney downloads. Staff see only
their organisation's customers (any other pk is a 404); superusers see all. Viewing
needs the customer view permission."""

import json
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import urlencode

from customers.models import Customer
from kycregistry.admin import tenant_rows
from organisations.models import Organisation
from relations.exports.bods import bods_statements
from relations.exports.ftm import ftm_entities
from relations.ownership import OwnershipStructure, format_percentage, ownership_structure
from relations.ownership.graph import DEFAULT_FAN_OUT, MAX_GRAPH_DEPTH, relationship_graph
from relations.ownership.structure import DECLARED_NOT_DERIVED, DERIVED_NOT_DECLARED

DISCREPANCY_KINDS = {
    DECLARED_NOT_DERIVED: "Declared as UBO, but below the threshold",
    DERIVED_NOT_DECLARED: "Reaches the threshold, but not declared as UBO",
}
Exporter = Callable[..., list[dict[str, Any]]]
# format (in the URL and the file name) → (exporter, button label)
EXPORTS: dict[str, tuple[Exporter, str]] = {
    "bods": (bods_statements, "BODS 0.4"),
    "ftm": (ftm_entities, "FollowTheMoney"),
}


def _customer(request: HttpRequest, pk: int) -> Customer:
    if not request.user.has_perm("customers.view_customer"):
        raise PermissionDenied
    customers = tenant_rows(request, Customer.objects.select_related("organisation"))
    customer = customers.filter(pk=pk).first()
    if customer is None:
        raise Http404("Customer not found")
    return customer


def _as_of(request: HttpRequest) -> tuple[date, str]:
    raw = request.GET.get("asOf", "")
    if raw:
        try:
            return date.fromisoformat(raw), ""
        except ValueError:
            return timezone.localdate(), f"“{raw}” is not a date (YYYY-MM-DD); showing today."
    return timezone.localdate(), ""


def _threshold(request: HttpRequest, customer: Customer) -> tuple[Decimal, str]:
    default = customer.organisation.ownership_threshold
    raw = request.GET.get("threshold", "")
    if not raw:
        return default, ""
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or not Decimal(0) < value <= 100:
        return default, f"“{raw}” is not a threshold between 0 and 100; showing the default."
    return value, ""


def _depth(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("depth", "2")), MAX_GRAPH_DEPTH))
    except ValueError:
        return 2


def _context(admin_site: AdminSite, request: HttpRequest, customer: Customer) -> dict[str, Any]:
    opts = Customer._meta
    return {
        **admin_site.each_context(request),
        "opts": opts,
        "original": customer,
        "customer": customer,
        "change_url": reverse("admin:customers_customer_change", args=[customer.pk]),
        "map_url": reverse("admin:customer-map", args=[customer.pk]),
        "structure_url": reverse("admin:customer-structure", args=[customer.pk]),
    }


def _pct(value: Decimal | None) -> str:
    return "" if value is None else f"{format_percentage(value)}%"


def _change(pk: int) -> str:
    return reverse("admin:customers_customer_change", args=[pk])


def _structure(request: HttpRequest, customer: Customer) -> tuple[OwnershipStructure, list[str]]:
    """The structure on `asOf` at `threshold` (both from the query string), and the
    warnings for values that were not understood and replaced by the default."""
    as_of, warning = _as_of(request)
    threshold, threshold_warning = _threshold(request, customer)
    structure = ownership_structure(customer=customer, as_of=as_of, threshold=threshold)
    return structure, [w for w in (warning, threshold_warning) if w]


def _export_url(pk: int, kind: str) -> str:
    return reverse(f"admin:customer-structure-{kind}", args=[pk])


def _download_name(customer: Customer, kind: str, as_of: date) -> str:
    reference = re.sub(r"[^A-Za-z0-9._-]+", "_", customer.reference_id).strip("._") or "customer"
    return f"{reference}-ownership-{kind}-{as_of.isoformat()}.json"


def _json_download(payload: Any, filename: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps(payload, ensure_ascii=False, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def ownership_admin_urls(admin_site: AdminSite) -> list[URLPattern]:
    """URL names: `customer-map`, `customer-map-data`, `customer-structure`,
    `customer-structure-bods` and `customer-structure-ftm` (arg: customer pk), all
    behind `admin_site.admin_view` (login, staff, CSRF)."""

    def map_page(request: HttpRequest, pk: int) -> HttpResponse:
        customer = _customer(request, pk)
        as_of, warning = _as_of(request)
        depth = _depth(request)
        data_url = reverse("admin:customer-map-data", args=[customer.pk])
        change_template = reverse("admin:customers_customer_change", args=[0]).replace(
            "/0/", "/__pk__/"
        )
        return render(
            request,
            "admin/relations/customer_map.html",
            {
                **_context(admin_site, request, customer),
                "title": f"Relationship map: {customer.name}",
                "as_of": as_of,
                "depth": depth,
                "depths": range(1, MAX_GRAPH_DEPTH + 1),
                "warning": warning,
                "data_url": f"{data_url}?asOf={as_of.isoformat()}&depth={depth}",
                "change_template": change_template,
                "fan_out": DEFAULT_FAN_OUT,
            },
        )

    def map_data(request: HttpRequest, pk: int) -> JsonResponse:
        customer = _customer(request, pk)
        as_of, _warning = _as_of(request)
        graph = relationship_graph(customer=customer, as_of=as_of, depth=_depth(request))
        return JsonResponse(graph)

    def structure_page(request: HttpRequest, pk: int) -> HttpResponse:
        customer = _customer(request, pk)
        structure, warnings = _structure(request, customer)
        as_of, threshold = structure.as_of, format_percentage(structure.threshold)
        query = urlencode({"asOf": as_of.isoformat(), "threshold": threshold})
        return render(
            request,
            "admin/relations/customer_structure.html",
            {
                **_context(admin_site, request, customer),
                "title": f"Ownership structure: {customer.name}",
                "as_of": as_of,
                "threshold": threshold,
                "warnings": warnings,
                "structure": structure,
                "exports": [
                    (f"{_export_url(pk, kind)}?{query}", label)
                    for kind, (_exporter, label) in EXPORTS.items()
                ],
                "discrepancies": [
                    (item, DISCREPANCY_KINDS.get(item.kind, item.kind), _change(item.party.id))
                    for item in structure.discrepancies
                ],
                "shareholders": [
                    (h, _pct(h.percentage), _change(h.party.id)) for h in structure.shareholders
                ],
                "people": [
                    ("Directors", structure.directors),
                    ("Authorised persons", structure.authorized_persons),
                    ("Declared UBOs", structure.declared_ubos),
                ],
                "derived": [
                    (ubo, format_percentage(ubo.effective), _change(ubo.party.id))
                    for ubo in structure.derived_ubos
                ],
            },
        )

    def structure_export(kind: str) -> Callable[[HttpRequest, int], HttpResponse]:
        exporter, _label = EXPORTS[kind]

        def download(request: HttpRequest, pk: int) -> HttpResponse:
            """The structure as a JSON file (BODS statements or FollowTheMoney entities),
            identified within the customer's organisation, as the API's exports."""
            customer = _customer(request, pk)
            structure, _warnings = _structure(request, customer)
            organisation: Organisation = customer.organisation
            return _json_download(
                exporter(structure, organisation=organisation),
                _download_name(customer, kind, structure.as_of),
            )

        return download

    return [
        path("<int:pk>/map/", admin_site.admin_view(map_page), name="customer-map"),
        path("<int:pk>/map/data/", admin_site.admin_view(map_data), name="customer-map-data"),
        path(
            "<int:pk>/structure/",
            admin_site.admin_view(structure_page),
            name="customer-structure",
        ),
        *[
            path(
                f"<int:pk>/structure/{kind}.json",
                admin_site.admin_view(structure_export(kind)),
                name=f"customer-structure-{kind}",
            )
            for kind in EXPORTS
        ],
    ]
