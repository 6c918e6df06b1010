from django.urls import URLPattern

from imports.api import views
from kycregistry.api.routing import api_path

urlpatterns: list[URLPattern] = [
    *api_path("customers/download-template", views.DownloadTemplateView, "download-template"),
    *api_path("customers/bulk-upload", views.BulkUploadListCreateView, "bulk-upload-list"),
    *api_path("customers/bulk-upload/<int:pk>", views.BulkUploadDetailView, "bulk-upload-detail"),
    *api_path(
        "customers/bulk-upload/<int:pk>/report", views.BulkUploadReportView, "bulk-upload-report"
    ),
]
