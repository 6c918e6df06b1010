from django.urls import URLPattern

from kyc.api import views
from kycregistry.api.routing import api_path

urlpatterns: list[URLPattern] = [
    *api_path("sessions", views.SessionListView, "session-list"),
    *api_path("sessions/<str:public_id>", views.SessionDetailView, "session-detail"),
    *api_path(
        "customers/<ref:reference_id>/sessions", views.CustomerSessionsView, "customer-sessions"
    ),
    *api_path(
        "customers/<ref:reference_id>/risk-profile",
        views.RiskProfileView,
        "customer-risk-profile",
    ),
    *api_path("risk-rules", views.RiskRulesView, "risk-rules"),
]
