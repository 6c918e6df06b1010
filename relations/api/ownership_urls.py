from django.urls import URLPattern

from kycregistry.api.routing import api_path
from relations.api.ownership_views import (
    CustomerApproveView,
    CustomerRejectView,
    OrganizationBodsView,
    OrganizationFtmView,
    OrganizationStructureView,
)

urlpatterns: list[URLPattern] = [
    *api_path(
        "customers/<ref:reference_id>/organization",
        OrganizationStructureView,
        "customer-organization",
    ),
    *api_path(
        "customers/<ref:reference_id>/organization/bods",
        OrganizationBodsView,
        "customer-organization-bods",
    ),
    *api_path(
        "customers/<ref:reference_id>/organization/ftm",
        OrganizationFtmView,
        "customer-organization-ftm",
    ),
    *api_path("customers/<ref:reference_id>/approve", CustomerApproveView, "customer-approve"),
    *api_path("customers/<ref:reference_id>/reject", CustomerRejectView, "customer-reject"),
]
