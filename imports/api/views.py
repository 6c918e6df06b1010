"""The bulk upload API (README "Bulk upload"): template, upload, job status, report."""

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from imports.api.serializers import BulkUploadInputSerializer, BulkUploadSerializer
from imports.guards import UploadRejected, max_bytes
from imports.models import BulkUpload, UploadStatus
from imports.services import bulk_upload_create, bulk_upload_report, report_ready
from imports.template import build_template
from kycregistry import jobs
from kycregistry.api.exceptions import ApiError, Conflict, PayloadTooLarge
from kycregistry.api.pagination import PagePagination
from kycregistry.api.responses import envelope
from kycregistry.api.schema import AUTH_ERRORS, envelope_schema, error_response
from kycregistry.api.scoping import ScopedAPIMixin

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MULTIPART_OVERHEAD = 64 * 1024

JOB = envelope_schema("BulkUploadEnvelope", BulkUploadSerializer())


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class DownloadTemplateView(ScopedAPIMixin, APIView):  # type: ignore[misc]
    @extend_schema(
        operation_id="customers_download_template",
        summary="Download the Excel template",
        description="Header `name, referenceId, accountTypeId, externalId, <custom field keys>, "
        "connects`, "
        "a dropdown on accountTypeId and an Instructions sheet.",
        responses={(200, XLSX): OpenApiTypes.BINARY, **AUTH_ERRORS},
    )
    def get(self, request: Request) -> HttpResponse:
        content = build_template(organisation=self.organisation, rows=10_000)
        return xlsx_response(content, "customers-template.xlsx")


class BulkUploadListCreateView(ScopedAPIMixin, ListAPIView):  # type: ignore[misc]
    model = BulkUpload
    serializer_class = BulkUploadSerializer
    parser_classes = [MultiPartParser]
    pagination_class = PagePagination

    def get_queryset(self) -> Any:
        return super().get_queryset().order_by("-created_at", "-id")

    def paginate_queryset(self, queryset: Any) -> Any:
        assert self.paginator is not None
        self.paginator.response_message = "Bulk uploads fetched successfully"  # type: ignore[attr-defined]
        return super().paginate_queryset(queryset)

    @extend_schema(operation_id="customers_bulk_upload_list", summary="List bulk uploads")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="customers_bulk_upload_create",
        summary="Upload a filled template",
        description="Multipart field `file`. The file is checked at once (not an .xlsx, too "
        "large, zip bomb: 400/413); the rows are imported in the background. Poll "
        "`GET /customers/bulk-upload/{id}`.",
        request={"multipart/form-data": BulkUploadInputSerializer},
        responses={
            202: JOB,
            400: error_response("No file, or not an .xlsx workbook, or a zip bomb."),
            413: error_response("The file is larger than KYC_UPLOAD_MAX_BYTES."),
            **AUTH_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        # Refuse before the multipart parser spools a huge body to disk.
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > max_bytes() + MULTIPART_OVERHEAD:
            raise PayloadTooLarge(f"The file is too large: {length} bytes (at most {max_bytes()})")
        form = BulkUploadInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            upload = bulk_upload_create(
                organisation=self.organisation,
                file=form.validated_data["file"],
                api_key=request.auth,  # type: ignore[arg-type]
            )
        except UploadRejected as exc:
            raise ApiError(exc.status, exc.message) from exc
        return envelope(BulkUploadSerializer(upload).data, "Bulk upload accepted", status=202)


class BulkUploadDetailView(ScopedAPIMixin, APIView):  # type: ignore[misc]
    def get_object(self, pk: int) -> BulkUpload:
        return jobs.recover_expired(self.get_scoped(BulkUpload, "Bulk upload not found", pk=pk))

    @extend_schema(
        operation_id="customers_bulk_upload_status",
        summary="Status, counts and row errors of a bulk upload",
        responses={200: JOB, 404: error_response("No such upload."), **AUTH_ERRORS},
    )
    def get(self, request: Request, pk: int) -> Response:
        upload = self.get_object(pk)
        return envelope(BulkUploadSerializer(upload).data, "Bulk upload fetched successfully")


class BulkUploadReportView(BulkUploadDetailView):
    @extend_schema(
        operation_id="customers_bulk_upload_report",
        summary="The report: every input row with its outcome and reason",
        responses={
            (200, XLSX): OpenApiTypes.BINARY,
            404: error_response("No such upload."),
            409: error_response(
                "The upload has not completed (nor failed after committing some rows)."
            ),
            **AUTH_ERRORS,
        },
    )
    def get(self, request: Request, pk: int) -> Any:
        upload = self.get_object(pk)
        if not report_ready(upload):
            reason = (
                f"The upload failed: {upload.message}"
                if upload.status == UploadStatus.FAILED
                else f"The upload is {upload.status}; the report is ready when it completes"
            )
            raise Conflict(reason)
        return xlsx_response(bulk_upload_report(upload=upload), f"bulk-upload-{pk}-report.xlsx")
