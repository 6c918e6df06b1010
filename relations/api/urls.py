from django.urls import URLPattern, path

from relations.api.views import ConnectionDetailView, ConnectionListView

# Seeds use trailing-slash-free paths; the slash form is accepted too but kept out of
# the OpenAPI schema (schema=None), as for customers.
urlpatterns: list[URLPattern] = [
    path(
        "customers/<str:reference_id>/connections",
        ConnectionListView.as_view(),
        name="customer-connections",
    ),
    path(
        "customers/<str:reference_id>/connections/",
        ConnectionListView.as_view(schema=None),
    ),
    path(
        "customers/<str:reference_id>/connections/<str:connection_id>",
        ConnectionDetailView.as_view(),
        name="customer-connection",
    ),
    path(
        "customers/<str:reference_id>/connections/<str:connection_id>/",
        ConnectionDetailView.as_view(schema=None),
    ),
]
