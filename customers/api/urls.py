from django.urls import URLPattern, path

from customers.api import views

# Seeds use trailing-slash-free paths; the slash form is accepted too but kept out of
# the OpenAPI schema (schema=None) so each operation is documented once.
urlpatterns: list[URLPattern] = [
    path("customers", views.CustomerListView.as_view(), name="customer-list"),
    path("customers/", views.CustomerListView.as_view(schema=None)),
    path(
        "customers/<str:reference_id>",
        views.CustomerDetailView.as_view(),
        name="customer-detail",
    ),
    path("customers/<str:reference_id>/", views.CustomerDetailView.as_view(schema=None)),
    path("customer-fields", views.FieldListView.as_view(), name="customer-field-list"),
    path("customer-fields/", views.FieldListView.as_view(schema=None)),
    path(
        "customer-fields/<str:key>",
        views.FieldDetailView.as_view(),
        name="customer-field-detail",
    ),
    path("customer-fields/<str:key>/", views.FieldDetailView.as_view(schema=None)),
]
