"""The customer list filtered to what one bulk upload created or updated:
`?bulk_upload=<id>-created` or `-updated` (linked from the finished job's page).

The filter shows in the sidebar only while it is in use; an upload the user may not
see, or a malformed value, lists no customers."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from imports.models import BulkUpload, UploadStatus
from imports.selectors import OUTCOMES, bulk_upload_customers
from kycregistry.admin import tenant_rows
from kycregistry.numbers import ascii_int

PARAMETER = "bulk_upload"


def filter_value(upload: BulkUpload, outcome: str) -> str:
    return f"{upload.pk}-{outcome}"


class BulkUploadFilter(admin.SimpleListFilter):
    title = "bulk upload"
    parameter_name = PARAMETER

    def _selected(self, request: HttpRequest) -> tuple[BulkUpload, str] | None:
        number, _, outcome = (self.value() or "").partition("-")
        pk = ascii_int(number)
        if pk is None or outcome not in OUTCOMES:
            return None
        uploads = tenant_rows(request, BulkUpload.objects.filter(status=UploadStatus.COMPLETED))
        upload = uploads.filter(pk=pk).first()
        return None if upload is None else (upload, outcome)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        if value is None:
            return []
        selected = self._selected(request)
        if selected is None:
            return [(value, "No such completed upload")]
        upload, outcome = selected
        return [(value, f"{outcome.capitalize()} by “{upload.file_name}” (#{upload.pk})")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() is None:
            return queryset
        selected = self._selected(request)
        if selected is None:
            return queryset.none()
        upload, outcome = selected
        return queryset.filter(pk__in=bulk_upload_customers(upload=upload, outcome=outcome))
