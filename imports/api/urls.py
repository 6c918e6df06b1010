from django.urls import path

from imports.api import views

urlpatterns = [
    path(
        "customers/download-template",
        views.DownloadTemplateView.as_view(),
        name="download-template",
    ),
    path(
        "customers/bulk-upload",
        views.BulkUploadListCreateView.as_view(),
        name="bulk-upload-list",
    ),
    path(
        "customers/bulk-upload/<int:pk>",
        views.BulkUploadDetailView.as_view(),
        name="bulk-upload-detail",
    ),
    path(
        "customers/bulk-upload/<int:pk>/report",
        views.BulkUploadReportView.as_view(),
        name="bulk-upload-report",
    ),
]
