"""Seed 000's connection endpoints plus seeds 003/004's single-connection operations."""

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.api.scoping import CustomerScopedMixin
from kycregistry.api.responses import envelope
from kycregistry.api.schema import AUTH_ERRORS, envelope_schema, error_response
from kycregistry.numbers import ascii_int
from relations.api.serializers import (
    ConnectionOutputSerializer,
    ConnectionPatchInputSerializer,
    ConnectionsReplaceInputSerializer,
    ConnectItemInputSerializer,
    connection_data,
)
from relations.models import Connection
from relations.selectors import connections_for
from relations.services import (
    SPLIT_ROLE_MESSAGE,
    connection_add,
    connection_remove,
    connection_update,
    connections_replace,
)
from relations.validation import parse_connect_item, parse_connects

LIST = envelope_schema("ConnectionListEnvelope", ConnectionOutputSerializer(many=True))
ONE = envelope_schema("ConnectionEnvelope", ConnectionOutputSerializer())
COMMON_ERRORS = {
    **AUTH_ERRORS,
    404: error_response('"Customer not found" (also for another organisation\'s).'),
}
WRITE_ERRORS = {
    400: error_response(
        'Invalid item, "Connected customer(s) not found: A, B", '
        '"Role UBO is only valid for Person customers (COMP-001)", duplicates, '
        "shareholdings above 100%.",
    ),
    **COMMON_ERRORS,
}


class ConnectionListView(CustomerScopedMixin, APIView):  # type: ignore[misc]
    @extend_schema(responses={200: LIST, **COMMON_ERRORS}, summary="List connections")
    def get(self, request: Request, reference_id: str) -> Response:
        customer = self.get_customer(reference_id)
        data = ConnectionOutputSerializer(connections_for(customer=customer), many=True).data
        return envelope(data, "Customer connections fetched successfully")

    @extend_schema(
        request=ConnectionsReplaceInputSerializer,
        responses={200: LIST, **WRITE_ERRORS},
        summary="Replace all connections (all or nothing)",
    )
    def put(self, request: Request, reference_id: str) -> Response:
        customer = self.get_customer(reference_id)
        body = request.data
        if not isinstance(body, dict) or "connects" not in body:
            raise ValidationError("connects is required")
        unknown = sorted(str(key) for key in body if key != "connects")
        if unknown:
            raise ValidationError(f"Unknown field(s): {', '.join(unknown)}. Allowed: connects.")
        items = parse_connects(body["connects"])
        connections = connections_replace(customer=customer, items=items)
        data = ConnectionOutputSerializer(connections, many=True).data
        return envelope(data, "Customer connections updated successfully")

    @extend_schema(
        request=ConnectItemInputSerializer,
        responses={201: ONE, **WRITE_ERRORS},
        summary="Add one connection",
    )
    def post(self, request: Request, reference_id: str) -> Response:
        customer = self.get_customer(reference_id)
        items, errors = parse_connect_item(request.data, path="")
        if errors:
            raise ValidationError(errors)
        if len(items) != 1:
            raise ValidationError({"role": [SPLIT_ROLE_MESSAGE]})
        connection = connection_add(customer=customer, item=items[0])
        return envelope(
            connection_data(connection), "Customer connection created successfully", status=201
        )


class ConnectionDetailView(CustomerScopedMixin, APIView):  # type: ignore[misc]
    def get_connection(self, reference_id: str, connection_id: str) -> Connection:
        customer = self.get_customer(reference_id)
        pk = ascii_int(connection_id)
        connection = (
            None if pk is None else connections_for(customer=customer).filter(pk=pk).first()
        )
        if connection is None:
            raise Http404("Connection not found")
        connection.customer = customer
        return connection

    @extend_schema(
        request=ConnectionPatchInputSerializer,
        responses={200: ONE, **WRITE_ERRORS},
        summary="Update one connection",
    )
    def patch(self, request: Request, reference_id: str, connection_id: str) -> Response:
        connection = self.get_connection(reference_id, connection_id)
        if not isinstance(request.data, dict):
            raise ValidationError("Request body must be a JSON object.")
        connection = connection_update(connection=connection, data=request.data)
        return envelope(connection_data(connection), "Customer connection updated successfully")

    @extend_schema(responses={200: ONE, **COMMON_ERRORS}, summary="Remove one connection")
    def delete(self, request: Request, reference_id: str, connection_id: str) -> Response:
        connection = self.get_connection(reference_id, connection_id)
        data = connection_data(connection)
        connection_remove(connection=connection)
        return envelope(data, "Customer connection deleted successfully")
