"""Admin pages of the bulk upload: the upload form, the live progress (htmx polling a
partial), the report and the template. CustomerAdmin mounts them under
/admin/customers/customer/ through `bulk_upload_admin_urls`."""

import logging
from typing import Any

from django import forms
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, path, reverse

from imports.guards import UploadRejected, max_bytes
from imports.models import BulkUpload, UploadStatus
from imports.services import bulk_upload_create, bulk_upload_report, report_ready
from imports.template import build_template
from kycregistry import jobs
from kycregistry.admin import is_superuser, tenant_rows, user_organisation
from organisations.models import Organisation
from workers.selectors import absent_after, worker_absent

logger = logging.getLogger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROW_ERRORS_SHOWN = 200
# What the officer reads for each job status (the technical reasons go to the log).
STATE_LABELS = {
    UploadStatus.QUEUED: "Waiting to start…",
    UploadStatus.RUNNING: "Importing",
    UploadStatus.COMPLETED: "Completed",
    UploadStatus.FAILED: "Failed",
}


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Filled template (.xlsx)",
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}),
    )
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.all(), required=False, help_text="Superusers choose."
    )


def _organisation(request: HttpRequest, form: UploadForm | None = None) -> Organisation:
    organisation = user_organisation(request.user)
    if organisation is None and is_superuser(request) and form is not None:
        organisation = form.cleaned_data.get("organisation")
    if organisation is None:
        raise PermissionDenied("Your account belongs to no organisation.")
    return organisation


def _uploads(request: HttpRequest) -> Any:
    return tenant_rows(request, BulkUpload.objects.select_related("organisation", "uploaded_by"))


def _upload(request: HttpRequest, pk: int) -> BulkUpload:
    _require(request, "imports.view_bulkupload")
    upload = _uploads(request).filter(pk=pk).first()
    if upload is None:
        raise Http404("No such bulk upload.")
    return jobs.recover_expired(upload)


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):  # type: ignore[union-attr]
        raise PermissionDenied


def _context(admin_site: AdminSite, request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        **admin_site.each_context(request),
        "opts": BulkUpload._meta,
        "max_mb": max_bytes() // (1024 * 1024),
        **extra,
    }


def state_label(upload: BulkUpload) -> str:
    return STATE_LABELS.get(UploadStatus(upload.status), upload.status)


def _worker_missing(request: HttpRequest) -> str:
    """For superusers, when no task worker has reported in lately (workers.selectors):
    for how long, in words ("1 minute"); else ""."""
    if not (is_superuser(request) and worker_absent()):
        return ""
    seconds = int(absent_after().total_seconds())
    if seconds % 60:
        return f"{seconds} seconds"
    return f"{seconds // 60} minute{'s' if seconds > 60 else ''}"


def _log_if_waiting(upload: BulkUpload) -> None:
    if upload.status == UploadStatus.QUEUED and worker_absent():
        logger.warning(
            "Bulk upload %s is queued and no task worker has been seen for %s s: "
            "start one with `manage.py db_worker`",
            upload.pk,
            int(absent_after().total_seconds()),
        )


def _progress_context(request: HttpRequest, upload: BulkUpload) -> dict[str, Any]:
    queued = upload.status == UploadStatus.QUEUED
    return {
        "upload": upload,
        "state_label": state_label(upload),
        "worker_missing": _worker_missing(request) if queued else "",
        "row_errors": upload.row_errors[:ROW_ERRORS_SHOWN],
        "more_errors": max(0, len(upload.row_errors) - ROW_ERRORS_SHOWN),
        "completed": upload.status == UploadStatus.COMPLETED,
        "customers_url": reverse("admin:customers_customer_changelist"),
        "failed": upload.status == UploadStatus.FAILED,
    }


def bulk_upload_admin_urls(admin_site: AdminSite) -> list[URLPattern]:
    """URL names: `customers-bulk-upload`, `customers-download-template`, and the job's
    `customers-bulk-upload-status` / `-progress` / `-report` (arg: upload pk)."""

    def upload_view(request: HttpRequest) -> HttpResponse:
        _require(request, "customers.add_customer")
        form = UploadForm(request.POST or None, request.FILES or None)
        if not is_superuser(request):
            del form.fields["organisation"]
        if request.method == "POST" and form.is_valid():
            try:
                upload = bulk_upload_create(
                    organisation=_organisation(request, form),
                    file=form.cleaned_data["file"],
                    user=request.user,  # type: ignore[arg-type]
                )
            except UploadRejected as exc:
                form.add_error("file", exc.message)
            else:
                _log_if_waiting(upload)
                return HttpResponseRedirect(
                    reverse("admin:customers-bulk-upload-status", args=[upload.pk])
                )
        context = _context(
            admin_site,
            request,
            title="Bulk upload",
            form=form,
            uploads=[(upload, state_label(upload)) for upload in _uploads(request)[:20]],
            worker_missing=_worker_missing(request),
        )
        return render(request, "admin/imports/bulk_upload.html", context)

    def status_view(request: HttpRequest, pk: int) -> HttpResponse:
        upload = _upload(request, pk)
        _log_if_waiting(upload)
        context = _context(
            admin_site,
            request,
            title=f"Bulk upload: {upload.file_name}",
            **_progress_context(request, upload),
        )
        return render(request, "admin/imports/bulk_upload_status.html", context)

    def progress_view(request: HttpRequest, pk: int) -> HttpResponse:
        upload = _upload(request, pk)
        return render(request, "admin/imports/_progress.html", _progress_context(request, upload))

    def report_view(request: HttpRequest, pk: int) -> HttpResponse:
        upload = _upload(request, pk)
        if not report_ready(upload):
            raise Http404("The report is ready when the upload has completed.")
        response = HttpResponse(bulk_upload_report(upload=upload), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="bulk-upload-{pk}-report.xlsx"'
        return response

    def template_view(request: HttpRequest) -> HttpResponse:
        _require(request, "customers.view_customer")
        content = build_template(organisation=_organisation(request), rows=10_000)
        response = HttpResponse(content, content_type=XLSX)
        response["Content-Disposition"] = 'attachment; filename="customers-template.xlsx"'
        return response

    view = admin_site.admin_view
    return [
        path("bulk-upload/", view(upload_view), name="customers-bulk-upload"),
        path("bulk-upload/<int:pk>/", view(status_view), name="customers-bulk-upload-status"),
        path(
            "bulk-upload/<int:pk>/progress/",
            view(progress_view),
            name="customers-bulk-upload-progress",
        ),
        path(
            "bulk-upload/<int:pk>/report/", view(report_view), name="customers-bulk-upload-report"
        ),
        path("download-template/", view(template_view), name="customers-download-template"),
    ]
