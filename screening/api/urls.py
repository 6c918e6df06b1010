from django.urls import URLPattern

from kycregistry.api.routing import api_path
from screening.api import views

urlpatterns: list[URLPattern] = [
    *api_path("watchlists", views.WatchlistListView, "watchlist-list"),
    *api_path("watchlists/<int:watchlist_id>", views.WatchlistDetailView, "watchlist-detail"),
    *api_path("customers/<ref:reference_id>/screen", views.CustomerScreenView, "customer-screen"),
    *api_path(
        "customers/<ref:reference_id>/screening-hits",
        views.CustomerHitsView,
        "customer-screening-hits",
    ),
    *api_path(
        "customers/<ref:reference_id>/monitor", views.CustomerMonitorView, "customer-monitor"
    ),
    *api_path("screening-hits/<int:hit_id>", views.HitDetailView, "screening-hit-detail"),
]
