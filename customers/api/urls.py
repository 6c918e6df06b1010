from django.urls import URLPattern

from customers.api import views
from kycregistry.api.routing import api_path

urlpatterns: list[URLPattern] = [
    *api_path("customers", views.CustomerListView, "customer-list"),
    *api_path("customers/<ref:reference_id>", views.CustomerDetailView, "customer-detail"),
    *api_path("customer-fields", views.FieldListView, "customer-field-list"),
    *api_path("customer-fields/<str:key>", views.FieldDetailView, "customer-field-detail"),
]
