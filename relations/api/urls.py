from django.urls import URLPattern

from kycregistry.api.routing import api_path
from relations.api.views import ConnectionDetailView, ConnectionListView

urlpatterns: list[URLPattern] = [
    *api_path(
        "customers/<ref:reference_id>/connections", ConnectionListView, "customer-connections"
    ),
    *api_path(
        "customers/<ref:reference_id>/connections/<str:connection_id>",
        ConnectionDetailView,
        "customer-connection",
    ),
]
