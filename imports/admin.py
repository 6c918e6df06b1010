from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from imports.admin_views import bulk_upload_admin_urls, state_label
from imports.models import BulkUpload
from kycregistry.admin import TenantModelAdmin
from kycregistry.admin_history import EMPTY
from kycregistry.admin_site import register_pages


@admin.register(BulkUpload)
class BulkUploadAdmin(TenantModelAdmin):
    """Uploads are made on the customers' Bulk upload page; here they are listed."""

    # Short headers, one "by" column: the list fits a 1,280 px window. The attempt and
    # the committed rows are on the upload's page.
    list_display = [
        "file_name",
        "state",
        "rows",
        "created",
        "updated",
        "unchanged",
        "skipped",
        "uploader",
        "created_at",
        "progress_link",
    ]
    list_filter = ["status", "created_at"]
    search_fields = ["file_name"]
    list_select_related = ["uploaded_by", "api_key", "organisation"]
    date_hierarchy = "created_at"
    exclude = ["file", "report", "outcomes", "status"]  # shown as `state`, in words
    readonly_fields = [
        "file_name",
        "file_size",
        "state",
        "attempt",
        "total_rows",
        "processed_rows",
        "phase",
        "committed_rows",
        "created_count",
        "updated_count",
        "unchanged_count",
        "skipped_count",
        "row_errors",
        "message",
        "uploaded_by",
        "api_key",
        "created_at",
        "started_at",
        "finished_at",
        "progress_link",
    ]

    @admin.display(description="status", ordering="status")
    def state(self, obj: BulkUpload) -> str:
        return state_label(obj)

    @admin.display(description="rows", ordering="total_rows")
    def rows(self, obj: BulkUpload) -> int:
        return obj.total_rows

    @admin.display(description="created", ordering="created_count")
    def created(self, obj: BulkUpload) -> int:
        return obj.created_count

    @admin.display(description="updated", ordering="updated_count")
    def updated(self, obj: BulkUpload) -> int:
        return obj.updated_count

    @admin.display(description="unchanged", ordering="unchanged_count")
    def unchanged(self, obj: BulkUpload) -> int:
        return obj.unchanged_count

    @admin.display(description="skipped", ordering="skipped_count")
    def skipped(self, obj: BulkUpload) -> int:
        return obj.skipped_count

    @admin.display(description="by")
    def uploader(self, obj: BulkUpload) -> str:
        if obj.uploaded_by_id:
            return str(obj.uploaded_by)
        return f"API key {obj.api_key}" if obj.api_key_id else EMPTY

    @admin.display(description="Progress and report")
    def progress_link(self, obj: BulkUpload) -> str:
        url = reverse("admin:customers-bulk-upload-status", args=[obj.pk])
        return format_html('<a href="{}">{}%</a>', url, obj.percent)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


register_pages("customers/customer/", bulk_upload_admin_urls)
