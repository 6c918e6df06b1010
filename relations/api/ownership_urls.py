from django.urls import URLPattern, path
from rest_framework.views import APIView

from relations.api.ownership_views import (
    CustomerApproveView,
    CustomerRejectView,
    OrganizationBodsView,
    OrganizationFtmView,
    OrganizationStructureView,
)

ROUTES: list[tuple[str, type[APIView], str]] = [
    (
        "customers/<str:reference_id>/organization",
        OrganizationStructureView,
        "customer-organization",
    ),
    (
        "customers/<str:reference_id>/organization/bods",
        OrganizationBodsView,
        "customer-organization-bods",
    ),
    (
        "customers/<str:reference_id>/organization/ftm",
        OrganizationFtmView,
        "customer-organization-ftm",
    ),
    ("customers/<str:reference_id>/approve", CustomerApproveView, "customer-approve"),
    ("customers/<str:reference_id>/reject", CustomerRejectView, "customer-reject"),
]

# Seeds use paths without a trailing slash; the slash form is accepted too and kept out
# of the OpenAPI schema so each operation is documented once (as customers.api does).
urlpatterns: list[URLPattern] = []
for route, view, name in ROUTES:
    urlpatterns.append(path(route, view.as_view(), name=name))
    urlpatterns.append(path(f"{route}/", view.as_view(schema=None)))
