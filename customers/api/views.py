"""Customers (seeds 001, 002, 004) and customer field definitions (seed 001).

Views translate HTTP ⇄ services: bodies go to customers.services as raw JSON, answers
come back through the output serializers inside the API's envelope.
"""

from collections import Counter
from typing import Any

from django.db.models import OuterRef, QuerySet, StringAgg, Subquery, Value
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
)
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.api.scoping import CUSTOMER_NOT_FOUND, CustomerScopedMixin
from customers.api.serializers import (
    CustomerDetailSerializer,
    CustomerInputSerializer,
    CustomerOutputSerializer,
    CustomerWriteResultSerializer,
    FieldDefinitionInputSerializer,
    FieldDefinitionOutputSerializer,
    customer_json,
)
from customers.models import Customer, CustomerFieldDefinition
from customers.selectors import (
    customer_list,
    customer_pages,
    field_definitions_for,
    field_definitions_list,
)
from customers.services import (
    FIELD_NOT_FOUND_MESSAGE,
    CustomerExists,
    customer_deactivate,
    field_definition_create,
    field_definition_delete,
    field_definition_update,
)
from kycregistry.api.exceptions import Conflict
from kycregistry.api.pagination import PagePagination
from kycregistry.api.responses import envelope
from kycregistry.api.schema import AUTH_ERRORS, envelope_schema, error_response
from kycregistry.api.scoping import ScopedAPIMixin
from kycregistry.compiled import CompiledQuery, CompiledRows, Param
from onboarding.services import customer_update_with_connections, customer_upsert_with_connections
from organisations.querysets import ORGANISATION
from relations.models import Connection

NOT_FOUND = {404: error_response('"Customer not found" (also another organisation\'s).')}
FIELD_NOT_FOUND = {404: error_response('"Customer field not found".')}
INVALID = {400: error_response("Invalid body: `errors` names each field.")}
CUSTOMER = envelope_schema("CustomerEnvelope", CustomerOutputSerializer())
CUSTOMER_DETAIL = envelope_schema("CustomerDetailEnvelope", CustomerDetailSerializer())
CUSTOMER_WRITE = envelope_schema("CustomerWriteEnvelope", CustomerWriteResultSerializer())
FIELD = envelope_schema("CustomerFieldEnvelope", FieldDefinitionOutputSerializer())


class CustomerPagination(PagePagination):
    response_message = "Customers fetched successfully"


class FieldPagination(PagePagination):
    response_message = "Customer fields fetched successfully"


class CustomerViewMixin(CustomerScopedMixin):
    def definitions(self) -> list[CustomerFieldDefinition]:
        return field_definitions_list(organisation_id=self.organisation.pk)

    def definitions_for(self, customers: list[Customer]) -> list[CustomerFieldDefinition]:
        """The definitions, read only when a customer has custom field values: without
        values they change nothing in the JSON."""
        return self.definitions() if any(c.custom_fields for c in customers) else []

    def customer_data(self, customer: Customer, **extra: Any) -> dict[str, Any]:
        return {**customer_json(customer, self.definitions_for([customer])), **extra}


class CustomerListView(CustomerViewMixin, APIView):  # type: ignore[misc]
    list_pagination = CustomerPagination  # page, pageSize, cursor in the schema

    @extend_schema(
        operation_id="customers_list",
        summary="List customers",
        parameters=[
            OpenApiParameter("accountTypeId", int, enum=[1, 2], description="1 Person, 2 Company."),
            OpenApiParameter(
                "status",
                str,
                enum=["active", "inactive", "all"],
                description="Default: active customers only.",
            ),
            OpenApiParameter("riskScoreName", str, enum=["Low risk", "Medium risk", "High risk"]),
            OpenApiParameter("onboardingStatus", str, enum=["PENDING", "APPROVED", "REJECTED"]),
            OpenApiParameter("monitored", bool),
            OpenApiParameter("country", str, description="ISO 3166-1 alpha-2 (identity)."),
            OpenApiParameter("createdAfter", str, description="ISO date/datetime, inclusive."),
            OpenApiParameter(
                "createdBefore", str, description="ISO date (whole day) or datetime, inclusive."
            ),
            OpenApiParameter(
                "search",
                str,
                description="Name, referenceId, clientNumber, identification number, email; "
                "accent- and case-insensitive.",
            ),
            OpenApiParameter(
                "ordering",
                str,
                description="createdAt, updatedAt, name, referenceId, clientNumber, riskScore; "
                "prefix - for descending. Default -createdAt.",
            ),
        ],
        responses={
            200: CustomerPagination().get_paginated_response_schema(
                {"type": "array", "items": {"$ref": "#/components/schemas/CustomerOutput"}}
            ),
            **AUTH_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        paginator = CustomerPagination()
        params = request.query_params
        customers: QuerySet[Customer] | CompiledRows[Customer]
        if paginator.by_cursor(request):
            customers = customer_list(organisation=self.organisation, filters=params)
        else:
            customers = customer_pages(organisation=self.organisation, filters=params)
        page = paginator.paginate_queryset(customers, request, view=self)
        page = list(page)
        definitions = self.definitions_for(page)
        data = [customer_json(customer, definitions) for customer in page]
        return paginator.get_paginated_response(data)

    @extend_schema(
        summary="Create or update a customer by referenceId",
        description="Seed 001. Creates (201) or updates (200) the customer of `referenceId`. "
        "Keys other than the reserved ones are custom fields; keys matching no definition "
        "are listed in `ignoredFields` (or refused, per the organisation's setting). "
        "`If-None-Match: *` only creates: an existing referenceId answers 409.",
        request=CustomerInputSerializer,
        parameters=[
            OpenApiParameter(
                "If-None-Match", str, OpenApiParameter.HEADER, description="`*`: create only."
            )
        ],
        responses={
            201: CUSTOMER_WRITE,
            200: CUSTOMER_WRITE,
            **INVALID,
            **AUTH_ERRORS,
            409: error_response('"Customer with referenceId 550 already exists".'),
        },
    )
    def post(self, request: Request) -> Response:
        only_create = request.headers.get("If-None-Match", "").strip() == "*"
        try:
            result = customer_upsert_with_connections(
                organisation=self.organisation, data=request.data, only_create=only_create
            )
        except CustomerExists as exc:
            raise Conflict(str(exc)) from exc
        data = self.customer_data(result.customer, ignoredFields=result.ignored_fields)
        if result.created:
            return envelope(data, "Customers created successfully", status=201)
        return envelope(data, "Customer updated successfully")


def _roles_of(direction: str) -> Subquery:
    """The roles of the customer's connections (`customer`: held in it;
    `connected_customer`: held by it), comma-separated, in the customer's own row."""
    return Subquery(
        Connection.objects.filter(**{direction: OuterRef("pk")})
        .order_by()
        .values(direction)
        .annotate(roles=StringAgg("role", delimiter=Value(",")))
        .values("roles")[:1]
    )


def _by_role(roles: str | None) -> dict[str, int]:
    return dict(sorted(Counter(roles.split(",")).items())) if roles else {}


# The detail's one query: the customer with the roles of its connections, so the
# connection counts come with it (one query, not two), compiled once per process.
CUSTOMER_WITH_ROLES = CompiledQuery(
    lambda: (
        Customer.objects.for_organisation(ORGANISATION)
        .filter(reference_id=Param("reference_id", Customer._meta.get_field("reference_id")))
        .annotate(own_roles=_roles_of("customer"), held_roles=_roles_of("connected_customer"))
        .order_by()[:1]
    )
)


def connection_counts_of(customer: Customer) -> dict[str, Any]:
    """relations.selectors.connection_counts, from the roles read with the customer
    (a test compares them)."""
    own = _by_role(customer.own_roles)  # type: ignore[attr-defined]
    held = _by_role(customer.held_roles)  # type: ignore[attr-defined]
    return {
        "total": sum(own.values()),
        "byRole": own,
        "heldTotal": sum(held.values()),
        "heldByRole": held,
    }


class CustomerDetailView(CustomerViewMixin, APIView):  # type: ignore[misc]
    @extend_schema(
        summary="Get a customer, with connection counts",
        responses={200: CUSTOMER_DETAIL, **AUTH_ERRORS, **NOT_FOUND},
    )
    def get(self, request: Request, reference_id: str) -> Response:
        found = self.run_scoped(CUSTOMER_WITH_ROLES, reference_id=reference_id)
        if not found:
            raise Http404(CUSTOMER_NOT_FOUND)
        customer = found[0]
        data = self.customer_data(customer, connectionCounts=connection_counts_of(customer))
        return envelope(data, "Customer fetched successfully")

    @extend_schema(
        summary="Update a customer (patch style)",
        description="Seed 004's patch style: only the keys sent change; identity, the "
        "address and custom fields merge into what is stored; `null` clears an optional "
        "value. referenceId and accountTypeId cannot change. `connects` replaces the "
        "connections.",
        request=CustomerInputSerializer(partial=True),
        responses={200: CUSTOMER_WRITE, **INVALID, **AUTH_ERRORS, **NOT_FOUND},
    )
    def patch(self, request: Request, reference_id: str) -> Response:
        result = customer_update_with_connections(
            customer=self.get_customer(reference_id), data=request.data
        )
        data = self.customer_data(result.customer, ignoredFields=result.ignored_fields)
        return envelope(data, "Customer updated successfully")

    @extend_schema(
        summary="Deactivate a customer",
        description="Status becomes inactive; nothing is erased. The customer leaves the "
        "default list but stays readable.",
        responses={200: CUSTOMER, **AUTH_ERRORS, **NOT_FOUND},
    )
    def delete(self, request: Request, reference_id: str) -> Response:
        customer = customer_deactivate(customer=self.get_customer(reference_id))
        return envelope(self.customer_data(customer), "Customer deactivated successfully")


class FieldListView(ScopedAPIMixin, APIView):  # type: ignore[misc]
    list_pagination = FieldPagination

    @extend_schema(
        operation_id="customer_fields_list",
        summary="List customer field definitions",
        responses={
            200: FieldPagination().get_paginated_response_schema(
                {"type": "array", "items": {"$ref": "#/components/schemas/FieldDefinitionOutput"}}
            ),
            **AUTH_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        paginator = FieldPagination()
        page = paginator.paginate_queryset(
            field_definitions_for(organisation=self.organisation), request, view=self
        )
        data = FieldDefinitionOutputSerializer(page, many=True).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        summary="Define a customer field",
        request=FieldDefinitionInputSerializer,
        responses={
            201: FIELD,
            400: error_response('Invalid body, or "A field with key phone already exists".'),
            **AUTH_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        definition = field_definition_create(organisation=self.organisation, data=request.data)
        data = FieldDefinitionOutputSerializer(definition).data
        return envelope(data, "Customer field created successfully", status=201)


class FieldDetailView(ScopedAPIMixin, APIView):  # type: ignore[misc]
    def get_definition(self, key: str) -> CustomerFieldDefinition:
        return self.get_scoped(CustomerFieldDefinition, FIELD_NOT_FOUND_MESSAGE, key=key)

    @extend_schema(
        summary="Get a customer field definition",
        responses={200: FIELD, **AUTH_ERRORS, **FIELD_NOT_FOUND},
    )
    def get(self, request: Request, key: str) -> Response:
        data = FieldDefinitionOutputSerializer(self.get_definition(key)).data
        return envelope(data, "Customer field fetched successfully")

    @extend_schema(
        summary="Update a customer field definition",
        description="name, required and (type choice) choices; key and type are immutable.",
        request=FieldDefinitionInputSerializer(partial=True),
        responses={200: FIELD, **INVALID, **AUTH_ERRORS, **FIELD_NOT_FOUND},
    )
    def patch(self, request: Request, key: str) -> Response:
        try:
            definition = field_definition_update(
                definition=self.get_definition(key), data=request.data
            )
        except CustomerFieldDefinition.DoesNotExist:  # deleted meanwhile
            raise Http404(FIELD_NOT_FOUND_MESSAGE) from None
        data = FieldDefinitionOutputSerializer(definition).data
        return envelope(data, "Customer field updated successfully")

    @extend_schema(
        summary="Delete a customer field definition",
        description="Values already stored on customers are kept (and hidden).",
        responses={200: FIELD, **AUTH_ERRORS, **FIELD_NOT_FOUND},
    )
    def delete(self, request: Request, key: str) -> Response:
        definition = self.get_definition(key)
        data = FieldDefinitionOutputSerializer(definition).data
        try:
            field_definition_delete(definition=definition)
        except CustomerFieldDefinition.DoesNotExist:  # deleted meanwhile
            raise Http404(FIELD_NOT_FOUND_MESSAGE) from None
        return envelope(data, "Customer field deleted successfully")
