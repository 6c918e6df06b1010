from django.urls import URLPattern, path
from rest_framework.views import APIView

from kyc.api import views

ROUTES: list[tuple[str, type[APIView], str]] = [
    ("sessions", views.SessionListView, "session-list"),
    ("sessions/<str:public_id>", views.SessionDetailView, "session-detail"),
    ("customers/<str:reference_id>/sessions", views.CustomerSessionsView, "customer-sessions"),
    ("customers/<str:reference_id>/risk-profile", views.RiskProfileView, "customer-risk-profile"),
    ("risk-rules", views.RiskRulesView, "risk-rules"),
]

# Seeds use paths without a trailing slash; the slash form is accepted too and kept out
# of the OpenAPI schema so each operation is documented once (as customers.api does).
urlpatterns: list[URLPattern] = []
for route, view, name in ROUTES:
    urlpatterns.append(path(route, view.as_view(), name=name))
    urlpatterns.append(path(f"{route}/", view.as_view(schema=None)))
