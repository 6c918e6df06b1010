"""Seed 004's `/clients` API and seed 003's related persons: entry points over the
same services as `/customers` (clients.services translates and delegates).

Answers use seed 004's envelope `{"workflow", "data", "connect", "metadata"}`; errors
keep the API's error body, except seed 003's `{"traceId", "message"}`.
"""

import json
import math
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clients.api.serializers import (
    client_data,
    relation_data,
    user_client_relation_data,
    user_data,
)
from clients.models import ClientRelation, ServiceProviderRecord
from clients.services import (
    ClientConflict,
    ClientNotFound,
    client_create,
    client_migrate,
    client_update,
    find_customer,
    records_load,
    related_person_add,
    relation_add,
    relation_remove,
    relation_update,
    relations_add,
)
from customers.models import AccountType, Customer
from kycregistry.api.exceptions import Conflict
from kycregistry.api.parsers import StrictJSONParser
from kycregistry.api.request_id import current_request_id
from kycregistry.api.schema import AUTH_ERRORS, error_response
from kycregistry.api.scoping import ScopedAPIMixin
from onboarding.kyb import (
    MIN_AUTHORIZED_PERSONS,
    MIN_SHAREHOLDERS,
    MIN_TOTAL_SHAREHOLDING,
    kyb_constraint_failures,
)
from relations.models import Connection, Role
from relations.validation import format_percentage

CLIENT_NOT_FOUND = "Client not found"
RELATION_NOT_FOUND = "Client relation not found"
BUSINESS_NOT_FOUND = "Business customer not found"
DEFAULT_SIZE, MAX_SIZE = 20, 100
INCLUDES = {
    "data.client.profile.primaryAddress": "includePrimaryAddress",
    "data.client.profile.residentialAddress": "includeResidentialAddress",
    "data.client.profile.registrationAddress": "includeRegistrationAddress",
    "connect.connections": "includeConnections",
}
SEED = OpenApiResponse(
    OpenApiTypes.OBJECT, "Seed 004's envelope: workflow, data, connect, metadata."
)
INVALID = {400: error_response("Invalid body: `errors` names each field.")}
NOT_FOUND = {404: error_response(f'"{CLIENT_NOT_FOUND}" (also another organisation\'s).')}
REL_NOT_FOUND = {404: error_response(f'"{CLIENT_NOT_FOUND}" or "{RELATION_NOT_FOUND}".')}
PAGE_PARAMS = [
    OpenApiParameter("page", int, description="0-based page number."),
    OpenApiParameter("size", int, description=f"Default {DEFAULT_SIZE}, at most {MAX_SIZE}."),
]
METADATA_PARAMS = [
    OpenApiParameter("metadata.includeProfile", bool, description="Default true."),
    OpenApiParameter(
        "metadata.include", str, many=True, description="One or more of " + ", ".join(INCLUDES)
    ),
]


def seed_envelope(
    data: Any,
    *,
    workflow: Mapping[str, Any] | None = None,
    connect: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    status: int = 200,
) -> Response:
    body = {
        "workflow": dict(workflow or {}),
        "data": data,
        "connect": dict(connect or {}),
        "metadata": dict(metadata or {}),
    }
    return Response(body, status=status)


def _object(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError({path: ["Must be an object."]})
    return value


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ValidationError("Request body must be a JSON object (workflow, data, connect).")
    return request.data


class Shape:
    """What `metadata.includeProfile` and `metadata.include` ask of an answer."""

    def __init__(self, request: Request) -> None:
        params = request.query_params
        self.metadata: dict[str, Any] = {}
        self.profile = True
        raw_profile = params.get("metadata.includeProfile")
        if raw_profile is not None:
            if raw_profile.lower() not in ("true", "false"):
                raise ValidationError({"metadata.includeProfile": ["Must be true or false."]})
            self.profile = raw_profile.lower() == "true"
            self.metadata["includeProfile"] = self.profile
        keys = [k.strip() for v in params.getlist("metadata.include") for k in v.split(",")]
        unknown = [k for k in keys if k and k not in INCLUDES]
        if unknown:
            raise ValidationError(
                {
                    "metadata.include": [
                        f"Unknown key(s): {', '.join(unknown)}. Use one of: "
                        + ", ".join(INCLUDES)
                        + "."
                    ]
                }
            )
        self.includes = {INCLUDES[k] for k in keys if k}
        self.metadata.update({name: True for name in sorted(self.includes)})

    def address(self, customer: Customer) -> bool:
        person = customer.account_type == AccountType.PERSON
        return (
            "includePrimaryAddress" in self.includes
            or (person and "includeResidentialAddress" in self.includes)
            or (not person and "includeRegistrationAddress" in self.includes)
        )

    @property
    def connections(self) -> bool:
        return "includeConnections" in self.includes


def connections_of(customers: list[Customer]) -> dict[int, list[dict[str, str]]]:
    rows = ServiceProviderRecord.objects.filter(
        customer_id__in=[c.pk for c in customers], connection_id__isnull=False
    ).order_by("connected_at", "id")
    found: dict[int, list[dict[str, str]]] = {}
    for row in rows:
        assert row.customer_id is not None
        found.setdefault(row.customer_id, []).append(
            {"id": str(row.connection_id), "serviceProvider": row.service_provider}
        )
    return found


def page_of(request: Request, queryset: Any) -> tuple[list[Any], dict[str, int]]:
    """Seed 004's page: `page` 0-based, `size`; `{size, totalElements, totalPages, number}`."""
    values = {}
    for name, default in (("page", 0), ("size", DEFAULT_SIZE)):
        raw = request.query_params.get(name, str(default))
        if not raw.isascii() or not raw.isdigit():
            raise ValidationError({name: ["Must be a whole number (0 or more)."]})
        values[name] = int(raw)
    size = min(max(values["size"], 1), MAX_SIZE)
    number = values["page"]
    total = queryset.count()
    # Past the end: no rows (and no OFFSET beyond what a database integer holds).
    rows = list(queryset[number * size : (number + 1) * size]) if number * size < total else []
    page = {
        "size": size,
        "totalElements": total,
        "totalPages": math.ceil(total / size),
        "number": number,
    }
    return rows, page


class ClientScopedMixin(ScopedAPIMixin):
    def get_client(self, client_id: str) -> Customer:
        try:
            found = self.scoped(Customer).filter(public_id=client_id).first()
        except ValidationError:
            found = None  # not a UUID
        if found is None:
            raise Http404(CLIENT_NOT_FOUND)
        return found

    def get_relation(self, client: Customer, relation_id: str) -> ClientRelation:
        try:
            found = (
                self.scoped(ClientRelation)
                .select_related("company", "person")
                .filter(company=client, public_id=relation_id)
                .first()
            )
        except ValidationError:
            found = None
        if found is None:
            raise Http404(RELATION_NOT_FOUND)
        return found


class ClientListView(ClientScopedMixin, APIView):  # type: ignore[misc]
    @extend_schema(
        operation_id="clients_list",
        summary="List clients (seed 004)",
        parameters=[*PAGE_PARAMS, *METADATA_PARAMS],
        responses={200: SEED, **INVALID, **AUTH_ERRORS},
    )
    def get(self, request: Request) -> Response:
        shape = Shape(request)
        rows, page = page_of(request, self.scoped(Customer).order_by("-created_at", "-id"))
        connections = connections_of(rows) if shape.connections else {}
        clients = [client_data(c, address=shape.address(c), profile=shape.profile) for c in rows]
        connect = {}
        if shape.connections:
            connect["connections"] = {str(c.public_id): connections.get(c.pk, []) for c in rows}
        return seed_envelope(
            {"clients": clients}, connect=connect, metadata={**shape.metadata, "page": page}
        )

    @extend_schema(
        summary="Create a client: workflow direct or migration (seed 004)",
        description="`direct`: `data.client` with identity and the address at a minimum "
        "(individuals: profile.residentialAddress, corporates: profile.registrationAddress), "
        "optional `relations` (corporates, at most 10); `workflow.createUser` also creates "
        "a portal user (individuals with an email). `migration`: `data.sourceId` and "
        "`connect {type: explicit, serviceProvider}` create the client from the provider's "
        "record loaded beforehand (POST /service-providers/{name}/records).",
        request=OpenApiTypes.OBJECT,
        responses={
            201: SEED,
            **INVALID,
            **AUTH_ERRORS,
            404: error_response('"Service provider x not found" / "Record y not found …".'),
            409: error_response("The record was migrated already, or the user's email is taken."),
        },
    )
    def post(self, request: Request) -> Response:
        body = _body(request)
        workflow = _object(body.get("workflow"), "workflow")
        data = _object(body.get("data"), "data")
        connect = _object(body.get("connect"), "connect")
        code = workflow.get("code")
        try:
            if code == "direct":
                create_user = workflow.get("createUser", False)
                if not isinstance(create_user, bool):
                    raise ValidationError({"workflow.createUser": ["Must be true or false."]})
                result = client_create(
                    organisation=self.organisation,
                    client=data.get("client"),
                    create_user=create_user,
                )
                answer: dict[str, Any] = {"client": client_data(result.customer)}
                if result.relations:
                    answer["client"]["relations"] = [relation_data(r) for r in result.relations]
                if result.user is not None:
                    answer["user"] = user_data(result.user)
                    answer["userClientRelation"] = user_client_relation_data(result.user)
                return seed_envelope(answer, workflow=workflow, status=201)
            if code == "migration":
                if connect.get("type") != "explicit":
                    raise ValidationError({"connect.type": ["Must be 'explicit'."]})
                customer, record = client_migrate(
                    organisation=self.organisation,
                    service_provider=connect.get("serviceProvider"),
                    source_id=data.get("sourceId"),
                )
                link = {"id": str(record.connection_id), "serviceProvider": record.service_provider}
                return seed_envelope(
                    {"client": client_data(customer)},
                    workflow=workflow,
                    connect={**connect, "connection": link},
                    status=201,
                )
        except ClientNotFound as exc:
            raise Http404(str(exc)) from exc
        except ClientConflict as exc:
            raise Conflict(str(exc)) from exc
        raise ValidationError(
            {"workflow.code": ["This field is required: 'direct' or 'migration'."]}
        )


class ClientDetailView(ClientScopedMixin, APIView):  # type: ignore[misc]
    @extend_schema(
        summary="Get a client (seed 004)",
        parameters=METADATA_PARAMS,
        responses={200: SEED, **INVALID, **AUTH_ERRORS, **NOT_FOUND},
    )
    def get(self, request: Request, client_id: str) -> Response:
        shape = Shape(request)
        client = self.get_client(client_id)
        connect = {}
        if shape.connections:
            connect["connections"] = connections_of([client]).get(client.pk, [])
        data = client_data(client, address=shape.address(client), profile=shape.profile)
        return seed_envelope({"client": data}, connect=connect, metadata=shape.metadata)

    @extend_schema(
        summary="Update a client, patch style (seed 004)",
        request=OpenApiTypes.OBJECT,
        responses={200: SEED, **INVALID, **AUTH_ERRORS, **NOT_FOUND},
    )
    def patch(self, request: Request, client_id: str) -> Response:
        client = self.get_client(client_id)
        body = _body(request)
        workflow = _object(body.get("workflow"), "workflow")
        if workflow.get("code", "direct") != "direct":
            raise ValidationError({"workflow.code": ["Must be 'direct'."]})
        data = _object(body.get("data"), "data")
        customer = client_update(customer=client, client=data.get("client", {}))
        return seed_envelope({"client": client_data(customer)}, workflow=workflow)


class ClientRelationListView(ClientScopedMixin, APIView):  # type: ignore[misc]
    @extend_schema(
        operation_id="client_relations_list",
        summary="List a client's relations (seed 004)",
        parameters=PAGE_PARAMS,
        responses={200: SEED, **INVALID, **AUTH_ERRORS, **NOT_FOUND},
    )
    def get(self, request: Request, client_id: str) -> Response:
        client = self.get_client(client_id)
        relations = (
            self.scoped(ClientRelation).filter(company=client).select_related("company", "person")
        )
        rows, page = page_of(request, relations)
        return seed_envelope(
            {"clientRelations": [relation_data(r) for r in rows]}, metadata={"page": page}
        )

    @extend_schema(
        summary="Add relations to a corporate client (seed 004)",
        description="`data.clientRelation` (one) or `data.clientRelations` (at most 10), "
        "not both; related parties are individuals.",
        request=OpenApiTypes.OBJECT,
        responses={201: SEED, **INVALID, **AUTH_ERRORS, **NOT_FOUND},
    )
    def post(self, request: Request, client_id: str) -> Response:
        client = self.get_client(client_id)
        body = _body(request)
        workflow = _object(body.get("workflow"), "workflow")
        data = _object(body.get("data"), "data")
        one, many = "clientRelation" in data, "clientRelations" in data
        if one == many:
            raise ValidationError(
                {
                    "data": [
                        "Send either clientRelation (one) or clientRelations (a list)"
                        + (", not both." if one else ".")
                    ]
                }
            )
        if one:
            relation = relation_add(
                company=client, item=data["clientRelation"], path="data.clientRelation"
            )
            answer: dict[str, Any] = {"clientRelation": relation_data(relation)}
        else:
            relations = relations_add(
                company=client, items=data["clientRelations"], path="data.clientRelations"
            )
            answer = {"clientRelations": [relation_data(r) for r in relations]}
        return seed_envelope(answer, workflow=workflow, status=201)


class ClientRelationDetailView(ClientScopedMixin, APIView):  # type: ignore[misc]
    @extend_schema(
        summary="Get a client relation (seed 004)",
        responses={200: SEED, **AUTH_ERRORS, **REL_NOT_FOUND},
    )
    def get(self, request: Request, client_id: str, relation_id: str) -> Response:
        relation = self.get_relation(self.get_client(client_id), relation_id)
        return seed_envelope({"clientRelation": relation_data(relation)})

    @extend_schema(
        summary="Update a client relation, patch style (seed 004)",
        request=OpenApiTypes.OBJECT,
        responses={200: SEED, **INVALID, **AUTH_ERRORS, **REL_NOT_FOUND},
    )
    def patch(self, request: Request, client_id: str, relation_id: str) -> Response:
        relation = self.get_relation(self.get_client(client_id), relation_id)
        body = _body(request)
        workflow = _object(body.get("workflow"), "workflow")
        data = _object(body.get("data"), "data")
        updated = relation_update(
            relation=relation, data=data.get("clientRelation", {}), path="data.clientRelation"
        )
        updated.person.refresh_from_db()
        return seed_envelope({"clientRelation": relation_data(updated)}, workflow=workflow)

    @extend_schema(
        summary="Delete a client relation (seed 004)",
        description="Its connections are removed; the related person stays a customer.",
        responses={200: SEED, **AUTH_ERRORS, **REL_NOT_FOUND},
    )
    def delete(self, request: Request, client_id: str, relation_id: str) -> Response:
        relation = self.get_relation(self.get_client(client_id), relation_id)
        data = relation_data(relation)
        relation_remove(relation=relation)
        return seed_envelope({"clientRelation": data})


class JsonLinesParser(BaseParser):
    """One JSON object per line; handed to the service as text."""

    media_type = "application/x-ndjson"

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        return stream.read().decode("utf-8")


class JsonLinesAsTextParser(JsonLinesParser):
    media_type = "application/jsonl"


class ServiceProviderRecordsView(ScopedAPIMixin, APIView):  # type: ignore[misc]
    parser_classes = [JsonLinesParser, JsonLinesAsTextParser, StrictJSONParser]

    @extend_schema(
        summary="Load a service provider's client records (migration workflow)",
        description="JSON lines (`application/x-ndjson`): one seed 004 client per line "
        'with its `sourceId`; or JSON `{"records": [...]}`. Each is validated as a new '
        "client. Records already migrated are kept as they are.",
        request={"application/x-ndjson": OpenApiTypes.STR, "application/json": OpenApiTypes.OBJECT},
        responses={201: OpenApiTypes.OBJECT, **INVALID, **AUTH_ERRORS},
    )
    def post(self, request: Request, name: str) -> Response:
        data = request.data
        if isinstance(data, dict) and isinstance(data.get("records"), list):
            text = "\n".join(json.dumps(item) for item in data["records"])
        elif isinstance(data, str):
            text = data
        else:
            raise ValidationError("Send JSON lines, or a JSON object with a records list.")
        loaded = records_load(organisation=self.organisation, service_provider=name, text=text)
        return Response(
            {
                "status": 201,
                "message": "Service provider records loaded successfully",
                "data": {"serviceProvider": name.strip().lower(), "loaded": loaded},
                "code": "info",
            },
            status=201,
        )


# --- seed 003 --------------------------------------------------------------------------

SEED003_ROLE_NAMES = {Role.AUTHORIZED_PERSON: "REPRESENTATIVE", Role.SHAREHOLDER: "SHAREHOLDER"}
CONSTRAINTS = (MIN_SHAREHOLDERS, MIN_AUTHORIZED_PERSONS, MIN_TOTAL_SHAREHOLDING)
TRACE_ERROR = OpenApiResponse(OpenApiTypes.OBJECT, 'Seed 003\'s `{"traceId", "message"}`.')


class RelatedPersonsView(ScopedAPIMixin, APIView):  # type: ignore[misc]
    """Errors answer seed 003's `{"traceId", "message"}` (traceId = X-Request-ID)."""

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if response.status_code >= 400 and isinstance(response.data, dict):
            response.data = {
                "traceId": current_request_id(),
                "message": response.data.get("message", ""),
            }
        return response

    @extend_schema(
        summary="Add a person relation to a business customer (seed 003)",
        description="`businessUserId` and `relation.userId`: a customer's id (UUID) or "
        "referenceId. REPRESENTATIVE is stored as AUTHORIZED_PERSON; representingRange as "
        "the connection's validity. After approval the company is also flagged for review. "
        "`data.constraints` shows which KYB constraints hold so far.",
        request=OpenApiTypes.OBJECT,
        responses={
            201: OpenApiResponse(OpenApiTypes.OBJECT, "traceId, message, data"),
            400: TRACE_ERROR,
            401: TRACE_ERROR,
            403: TRACE_ERROR,
            404: TRACE_ERROR,
        },
    )
    def post(self, request: Request, business_user_id: str) -> Response:
        company = find_customer(organisation=self.organisation, identifier=business_user_id)
        if company is None:
            raise Http404(BUSINESS_NOT_FOUND)
        try:
            result = related_person_add(company=company, data=request.data)
        except ClientNotFound as exc:
            raise Http404(str(exc)) from exc
        connections = (
            Connection.objects.filter(customer=company, role__in=list(SEED003_ROLE_NAMES))
            .select_related("connected_customer")
            .order_by("id")
        )
        relations = []
        for connection in connections:
            row = {
                "userId": str(connection.connected_customer.public_id),
                "role": SEED003_ROLE_NAMES[Role(connection.role)],
            }
            if connection.role == Role.SHAREHOLDER and connection.ownership_percentage:
                row["ownershipPercentage"] = format_percentage(connection.ownership_percentage)
            relations.append(row)
        failures = {f.name: f.message for f in kyb_constraint_failures(customer=company)}
        constraints = [
            {
                "name": name,
                "holds": name not in failures,
                **({"message": failures[name]} if name in failures else {}),
            }
            for name in CONSTRAINTS
        ]
        return Response(
            {
                "traceId": current_request_id(),
                "message": "Person relation added successfully"
                if result.action == "ADD"
                else "Person relation updated successfully",
                "data": {
                    "personRelations": relations,
                    "action": result.action,
                    "constraints": constraints,
                },
            },
            status=201,
        )
