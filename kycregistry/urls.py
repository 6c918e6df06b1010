from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, reverse_lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from kycregistry.api.exceptions import api_error_400, api_error_404, api_error_500

api_v1: list[URLPattern | URLResolver] = [
    # The schema and docs are public (they describe, they don't reveal data); the split
    # Swagger view serves its init script as a file, so the CSP needs no inline script.
    path(
        "schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[AllowAny]),
        name="schema",
    ),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", authentication_classes=[], permission_classes=[AllowAny]
        ),
        name="docs",
    ),
    # Order does not matter: a referenceId never matches a fixed path segment
    # (kycregistry.api.routing).
    path("", include("kyc.api.urls")),
    path("", include("customers.api.urls")),
    path("", include("relations.api.urls")),
    path("", include("relations.api.ownership_urls")),
    path("", include("imports.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("clients.api.urls")),
    path("", include("screening.api.urls")),
]

urlpatterns = [
    # The product is the back-office and the API: `/` opens the admin (its header links
    # the API docs).
    path("", RedirectView.as_view(url=reverse_lazy("admin:index")), name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
]

handler400 = api_error_400
handler404 = api_error_404
handler500 = api_error_500
