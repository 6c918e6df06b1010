from django.urls import URLPattern

from clients.api import views
from kycregistry.api.routing import api_path

urlpatterns: list[URLPattern] = [
    *api_path("clients", views.ClientListView, "client-list"),
    *api_path("clients/<str:client_id>", views.ClientDetailView, "client-detail"),
    *api_path(
        "clients/<str:client_id>/relations", views.ClientRelationListView, "client-relation-list"
    ),
    *api_path(
        "clients/<str:client_id>/relations/<str:relation_id>",
        views.ClientRelationDetailView,
        "client-relation-detail",
    ),
    *api_path(
        "service-providers/<str:name>/records",
        views.ServiceProviderRecordsView,
        "service-provider-records",
    ),
    *api_path(
        "customers/business/<str:business_user_id>/related-persons",
        views.RelatedPersonsView,
        "related-persons",
    ),
]
