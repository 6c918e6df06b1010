"""The screening API: watchlists, screening a customer, hits and their review,
monitoring. Views translate HTTP ⇄ screening.services."""

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.api.scoping import CustomerScopedMixin
from customers.models import MonitoringFrequency
from customers.validation.values import require_object
from kycregistry import jobs
from kycregistry.api.exceptions import PayloadTooLarge
from kycregistry.api.pagination import PagePagination
from kycregistry.api.responses import envelope
from kycregistry.api.schema import AUTH_ERRORS, envelope_schema, error_response
from kycregistry.api.scoping import ScopedAPIMixin
from organisations.models import ApiKey
from screening.api.serializers import (
    HitReviewSerializer,
    MonitoringStateSerializer,
    MonitorSerializer,
    ScreeningHitSerializer,
    WatchlistSerializer,
    WatchlistUploadSerializer,
)
from screening.models import HitStatus, ScreeningHit, Watchlist
from screening.parsers import max_bytes
from screening.selectors import HIT_JOINS, hits_for
from screening.services import (
    customer_monitor_start,
    customer_monitor_stop,
    customer_screen,
    hit_review,
    watchlist_delete,
    watchlist_upload,
)

MULTIPART_OVERHEAD = 64 * 1024
WATCHLIST = envelope_schema("WatchlistEnvelope", WatchlistSerializer())
HIT = envelope_schema("ScreeningHitEnvelope", ScreeningHitSerializer())
HITS = envelope_schema("ScreeningHitsEnvelope", ScreeningHitSerializer(many=True))
MONITOR = envelope_schema("MonitorEnvelope", MonitoringStateSerializer())
WATCHLIST_NOT_FOUND = {404: error_response('"Watchlist not found".')}
CUSTOMER_NOT_FOUND = {404: error_response('"Customer not found" (also another organisation\'s).')}
HIT_NOT_FOUND = {404: error_response('"Screening hit not found".')}
INVALID = {400: error_response("Invalid body: `errors` names each field.")}


def _hit_list_schema(paginator: PagePagination) -> Any:
    return paginator.get_paginated_response_schema(
        {"type": "array", "items": {"$ref": "#/components/schemas/ScreeningHit"}}
    )


class WatchlistPagination(PagePagination):
    response_message = "Watchlists fetched successfully"


class HitPagination(PagePagination):
    response_message = "Screening hits fetched successfully"


class WatchlistListView(ScopedAPIMixin, APIView):  # type: ignore[misc]
    list_pagination = WatchlistPagination  # page, pageSize, cursor and their errors
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="watchlists_list",
        summary="List watchlists",
        responses={
            200: WatchlistPagination().get_paginated_response_schema(
                {"type": "array", "items": {"$ref": "#/components/schemas/Watchlist"}}
            ),
            **AUTH_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        paginator = WatchlistPagination()
        page = paginator.paginate_queryset(
            self.scoped(Watchlist).order_by("name", "id"), request, view=self
        )
        return paginator.get_paginated_response(WatchlistSerializer(page, many=True).data)

    @extend_schema(
        operation_id="watchlists_upload",
        summary="Upload a watchlist (or its next version)",
        description="Multipart `name` and `file` (FollowTheMoney JSON lines, or CSV with the "
        "header `id,name,aliases,type,birthDate,countries,topics`). The import runs in the "
        "background: poll `GET /watchlists/{id}`. Uploading with the name of an existing "
        "list replaces its entries (matched by source id) as a new version and counts what "
        "was added, changed and removed; monitored customers are then screened against "
        "the added and changed entries.",
        request={"multipart/form-data": WatchlistUploadSerializer},
        responses={
            202: WATCHLIST,
            400: error_response("No name or file, or the list is being imported."),
            413: error_response("The file is larger than KYC_WATCHLIST_MAX_BYTES."),
            **AUTH_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > max_bytes() + MULTIPART_OVERHEAD:
            raise PayloadTooLarge(f"The file is too large: {length} bytes (at most {max_bytes()})")
        form = WatchlistUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        watchlist = watchlist_upload(
            organisation=self.organisation,
            name=form.validated_data["name"],
            file=form.validated_data["file"],
            api_key=request.auth if isinstance(request.auth, ApiKey) else None,
        )
        return envelope(
            WatchlistSerializer(watchlist).data, "Watchlist upload accepted", status=202
        )


class WatchlistDetailView(ScopedAPIMixin, APIView):  # type: ignore[misc]
    def get_watchlist(self, pk: int) -> Watchlist:
        return self.get_scoped(Watchlist, "Watchlist not found", pk=pk)

    @extend_schema(
        summary="Get a watchlist (and its import job)",
        responses={200: WATCHLIST, **AUTH_ERRORS, **WATCHLIST_NOT_FOUND},
    )
    def get(self, request: Request, watchlist_id: int) -> Response:
        watchlist = jobs.recover_expired(self.get_watchlist(watchlist_id))
        data = WatchlistSerializer(watchlist).data
        return envelope(data, "Watchlist fetched successfully")

    @extend_schema(
        summary="Delete a watchlist",
        description="Its entries and the hits on them go too (their history stays).",
        responses={200: WATCHLIST, **AUTH_ERRORS, **WATCHLIST_NOT_FOUND},
    )
    def delete(self, request: Request, watchlist_id: int) -> Response:
        watchlist = self.get_watchlist(watchlist_id)
        data = WatchlistSerializer(watchlist).data
        watchlist_delete(watchlist=watchlist)
        return envelope(data, "Watchlist deleted successfully")


class CustomerScreenView(CustomerScopedMixin, APIView):  # type: ignore[misc]
    @extend_schema(
        operation_id="customers_screen",
        summary="Screen a customer now",
        description="The customer and its connected parties (both directions, and its "
        "derived UBOs) against the organisation's watchlists. Answers every hit of the "
        "customer, best score first; sets lastScreeningDate.",
        request=None,
        responses={200: HITS, **AUTH_ERRORS, **CUSTOMER_NOT_FOUND},
    )
    def post(self, request: Request, reference_id: str) -> Response:
        customer = self.get_customer(reference_id)
        customer_screen(customer=customer)
        data = ScreeningHitSerializer(hits_for(customer=customer), many=True).data
        return envelope(data, "Customer screened successfully")


class CustomerHitsView(CustomerScopedMixin, APIView):  # type: ignore[misc]
    list_pagination = HitPagination

    @extend_schema(
        operation_id="customers_screening_hits",
        summary="A customer's screening hits",
        parameters=[OpenApiParameter("status", str, enum=HitStatus.values)],
        responses={200: _hit_list_schema(HitPagination()), **AUTH_ERRORS, **CUSTOMER_NOT_FOUND},
    )
    def get(self, request: Request, reference_id: str) -> Response:
        customer = self.get_customer(reference_id)
        status = request.query_params.get("status")
        if status is not None and status not in HitStatus.values:
            raise ValidationError({"status": "must be open, confirmed or dismissed"})
        paginator = HitPagination()
        page = paginator.paginate_queryset(
            hits_for(customer=customer, status=status), request, view=self
        )
        return paginator.get_paginated_response(ScreeningHitSerializer(page, many=True).data)


class HitDetailView(ScopedAPIMixin, APIView):  # type: ignore[misc]
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="screening_hits_review",
        summary="Confirm or dismiss a screening hit",
        description="`status` confirmed or dismissed; `comment` (required to dismiss). A "
        "dismissed hit stays dismissed on later screenings unless its entry changes in a "
        "newer list version.",
        request=HitReviewSerializer,
        responses={200: HIT, **INVALID, **AUTH_ERRORS, **HIT_NOT_FOUND},
    )
    def patch(self, request: Request, hit_id: int) -> Response:
        hit = self.get_scoped(ScreeningHit, "Screening hit not found", pk=hit_id)
        hit_review(hit=hit, data=request.data)
        hit = ScreeningHit.objects.select_related(*HIT_JOINS).get(pk=hit.pk)
        return envelope(ScreeningHitSerializer(hit).data, "Screening hit updated successfully")


class CustomerMonitorView(CustomerScopedMixin, APIView):  # type: ignore[misc]
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="customers_monitor_add",
        summary="Add a customer to monitoring",
        description="`frequency`: daily (default), weekly or monthly. Screens the customer "
        "at once, then on that schedule (the task worker runs it; no cron needed).",
        request=MonitorSerializer,
        responses={200: MONITOR, **INVALID, **AUTH_ERRORS, **CUSTOMER_NOT_FOUND},
    )
    def post(self, request: Request, reference_id: str) -> Response:
        customer = self.get_customer(reference_id)
        data = require_object(request.data)  # no body: {}, the default frequency
        frequency = data.get("frequency", MonitoringFrequency.DAILY)
        customer = customer_monitor_start(customer=customer, frequency=frequency)
        return envelope(MonitoringStateSerializer(customer).data, "Customer added to monitoring")

    @extend_schema(
        operation_id="customers_monitor_remove",
        summary="Remove a customer from monitoring",
        request=None,
        responses={200: MONITOR, **AUTH_ERRORS, **CUSTOMER_NOT_FOUND},
    )
    def delete(self, request: Request, reference_id: str) -> Response:
        customer = customer_monitor_stop(customer=self.get_customer(reference_id))
        return envelope(
            MonitoringStateSerializer(customer).data, "Customer removed from monitoring"
        )
