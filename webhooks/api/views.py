"""Webhook endpoints (scope webhooks:manage): register, change, rotate the secret,
read the delivery log, retry a delivery, send a test ping."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kycregistry.api.pagination import PagePagination
from kycregistry.api.responses import envelope
from kycregistry.api.schema import AUTH_ERRORS, envelope_schema, error_response
from kycregistry.api.scoping import ScopedAPIMixin
from organisations.models import Scope
from webhooks.api.serializers import (
    DeliveryOutputSerializer,
    EndpointInputSerializer,
    EndpointOutputSerializer,
    EndpointWithSecretSerializer,
)
from webhooks.models import Endpoint
from webhooks.selectors import deliveries_for, delivery_get, endpoint_get, endpoints_for
from webhooks.services import (
    delivery_retry,
    endpoint_create,
    endpoint_delete,
    endpoint_ping,
    endpoint_rotate_secret,
    endpoint_update,
)

NOT_FOUND = {404: error_response('"Webhook endpoint not found" (also another organisation\'s).')}
DELIVERY_NOT_FOUND = {
    404: error_response('"Webhook endpoint not found" or "Webhook delivery not found".')
}
INVALID = {
    400: error_response(
        "Invalid body: `errors` names each field (unknown event types, "
        "a URL that is not https or resolves to a private address)."
    )
}
ENDPOINT = envelope_schema("WebhookEndpointEnvelope", EndpointOutputSerializer())
ENDPOINT_SECRET = envelope_schema("WebhookEndpointSecretEnvelope", EndpointWithSecretSerializer())
DELIVERY = envelope_schema("WebhookDeliveryEnvelope", DeliveryOutputSerializer())


class EndpointPagination(PagePagination):
    response_message = "Webhook endpoints fetched successfully"


class DeliveryPagination(PagePagination):
    response_message = "Webhook deliveries fetched successfully"


class WebhookViewMixin(ScopedAPIMixin):
    required_scope = Scope.WEBHOOKS_MANAGE

    def get_endpoint(self, endpoint_id: str) -> Endpoint:
        return endpoint_get(organisation=self.organisation, endpoint_id=endpoint_id)


def _with_secret(endpoint: Endpoint, secret: str) -> dict:
    return {**EndpointOutputSerializer(endpoint).data, "secret": secret}


class EndpointListView(WebhookViewMixin, APIView):  # type: ignore[misc]
    list_pagination = EndpointPagination  # page, pageSize, cursor and their errors

    @extend_schema(
        operation_id="webhooks_list",
        summary="List webhook endpoints",
        responses={
            200: EndpointPagination().get_paginated_response_schema(
                {"type": "array", "items": {"$ref": "#/components/schemas/EndpointOutput"}}
            ),
            **AUTH_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        paginator = EndpointPagination()
        page = paginator.paginate_queryset(
            endpoints_for(organisation=self.organisation), request, view=self
        )
        return paginator.get_paginated_response(EndpointOutputSerializer(page, many=True).data)

    @extend_schema(
        summary="Register a webhook endpoint",
        description="Answers with the signing `secret` (`whsec_…`): shown only here.",
        request=EndpointInputSerializer,
        responses={201: ENDPOINT_SECRET, **INVALID, **AUTH_ERRORS},
    )
    def post(self, request: Request) -> Response:
        endpoint, secret = endpoint_create(organisation=self.organisation, data=request.data)
        return envelope(
            _with_secret(endpoint, secret), "Webhook endpoint created successfully", status=201
        )


class EndpointDetailView(WebhookViewMixin, APIView):  # type: ignore[misc]
    @extend_schema(
        summary="Get a webhook endpoint", responses={200: ENDPOINT, **AUTH_ERRORS, **NOT_FOUND}
    )
    def get(self, request: Request, endpoint_id: str) -> Response:
        data = EndpointOutputSerializer(self.get_endpoint(endpoint_id)).data
        return envelope(data, "Webhook endpoint fetched successfully")

    @extend_schema(
        summary="Update a webhook endpoint (patch style)",
        description="Enabling a disabled endpoint clears `disabledReason`.",
        request=EndpointInputSerializer(partial=True),
        responses={200: ENDPOINT, **INVALID, **AUTH_ERRORS, **NOT_FOUND},
    )
    def patch(self, request: Request, endpoint_id: str) -> Response:
        endpoint = endpoint_update(endpoint=self.get_endpoint(endpoint_id), data=request.data)
        return envelope(
            EndpointOutputSerializer(endpoint).data, "Webhook endpoint updated successfully"
        )

    @extend_schema(
        summary="Delete a webhook endpoint (and its delivery log)",
        responses={200: ENDPOINT, **AUTH_ERRORS, **NOT_FOUND},
    )
    def delete(self, request: Request, endpoint_id: str) -> Response:
        endpoint = self.get_endpoint(endpoint_id)
        data = EndpointOutputSerializer(endpoint).data
        endpoint_delete(endpoint=endpoint)
        return envelope(data, "Webhook endpoint deleted successfully")


class EndpointRotateView(WebhookViewMixin, APIView):  # type: ignore[misc]
    @extend_schema(
        summary="Rotate the signing secret",
        description="Answers with the new secret (shown only here). For 24 hours the old "
        "secret signs too: `webhook-signature` carries both signatures.",
        request=None,
        responses={200: ENDPOINT_SECRET, **AUTH_ERRORS, **NOT_FOUND},
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        endpoint = self.get_endpoint(endpoint_id)
        secret = endpoint_rotate_secret(endpoint=endpoint)
        return envelope(_with_secret(endpoint, secret), "Webhook secret rotated successfully")


class EndpointPingView(WebhookViewMixin, APIView):  # type: ignore[misc]
    @extend_schema(
        summary="Send a test ping",
        description="Queues a `ping` event to the endpoint; the answer is the delivery "
        "(follow it in the delivery log).",
        request=None,
        responses={202: DELIVERY, **AUTH_ERRORS, **NOT_FOUND},
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        delivery = endpoint_ping(endpoint=self.get_endpoint(endpoint_id))
        return envelope(DeliveryOutputSerializer(delivery).data, "Webhook ping queued", status=202)


class DeliveryListView(WebhookViewMixin, APIView):  # type: ignore[misc]
    list_pagination = DeliveryPagination

    @extend_schema(
        operation_id="webhook_deliveries_list",
        summary="The endpoint's delivery log (newest first)",
        parameters=[
            OpenApiParameter("status", str, enum=["pending", "delivered", "failed"]),
        ],
        responses={
            200: DeliveryPagination().get_paginated_response_schema(
                {"type": "array", "items": {"$ref": "#/components/schemas/DeliveryOutput"}}
            ),
            **AUTH_ERRORS,
            **NOT_FOUND,
        },
    )
    def get(self, request: Request, endpoint_id: str) -> Response:
        endpoint = self.get_endpoint(endpoint_id)
        deliveries = deliveries_for(endpoint=endpoint, status=request.query_params.get("status"))
        paginator = DeliveryPagination()
        page = paginator.paginate_queryset(deliveries, request, view=self)
        return paginator.get_paginated_response(DeliveryOutputSerializer(page, many=True).data)


class DeliveryRetryView(WebhookViewMixin, APIView):  # type: ignore[misc]
    @extend_schema(
        summary="Send a delivery again now (same webhook-id)",
        request=None,
        responses={202: DELIVERY, **AUTH_ERRORS, **DELIVERY_NOT_FOUND},
    )
    def post(self, request: Request, endpoint_id: str, delivery_id: str) -> Response:
        delivery = delivery_get(endpoint=self.get_endpoint(endpoint_id), webhook_id=delivery_id)
        delivery = delivery_retry(delivery=delivery)
        return envelope(
            DeliveryOutputSerializer(delivery).data, "Webhook delivery queued", status=202
        )
