from django.urls import URLPattern

from kycregistry.api.routing import api_path
from webhooks.api import views

ENDPOINT = "webhooks/<str:endpoint_id>"

urlpatterns: list[URLPattern] = [
    *api_path("webhooks", views.EndpointListView, "webhook-list"),
    *api_path(ENDPOINT, views.EndpointDetailView, "webhook-detail"),
    *api_path(f"{ENDPOINT}/rotate-secret", views.EndpointRotateView, "webhook-rotate"),
    *api_path(f"{ENDPOINT}/test", views.EndpointPingView, "webhook-test"),
    *api_path(f"{ENDPOINT}/deliveries", views.DeliveryListView, "webhook-deliveries"),
    *api_path(
        f"{ENDPOINT}/deliveries/<str:delivery_id>/retry",
        views.DeliveryRetryView,
        "webhook-delivery-retry",
    ),
]
