from typing import Any

from django.urls import URLPattern, path

from webhooks.api import views

# Trailing-slash forms are accepted too, kept out of the schema (as for customers).
ROUTES: list[tuple[str, Any, str]] = [
    ("webhooks", views.EndpointListView, "webhook-list"),
    ("webhooks/<str:endpoint_id>", views.EndpointDetailView, "webhook-detail"),
    ("webhooks/<str:endpoint_id>/rotate-secret", views.EndpointRotateView, "webhook-rotate"),
    ("webhooks/<str:endpoint_id>/test", views.EndpointPingView, "webhook-test"),
    ("webhooks/<str:endpoint_id>/deliveries", views.DeliveryListView, "webhook-deliveries"),
    (
        "webhooks/<str:endpoint_id>/deliveries/<str:delivery_id>/retry",
        views.DeliveryRetryView,
        "webhook-delivery-retry",
    ),
]

urlpatterns: list[URLPattern] = []
for route, view, name in ROUTES:
    urlpatterns.append(path(route, view.as_view(), name=name))
    urlpatterns.append(path(f"{route}/", view.as_view(schema=None)))
