"""KYC sessions, risk profiles and risk rules (seed 002). Views translate HTTP ⇄
kyc.services / kyc.selectors inside the API's envelope."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.api.scoping import CustomerScopedMixin
from kyc.api.serializers import (
    RULES_SCHEMA,
    RiskProfileSerializer,
    RiskRulesSerializer,
    SessionInputSerializer,
    SessionOutputSerializer,
    SessionPatchSerializer,
)
from kyc.models import SessionStatus
from kyc.selectors import (
    customer_sessions,
    risk_profile,
    risk_rules_current,
    session_get,
    session_list,
)
from kyc.services import (
    SessionConflict,
    customer_rescore,
    risk_rules_replace,
    session_create,
    session_update,
)
from kycregistry.api.exceptions import Conflict
from kycregistry.api.pagination import PagePagination
from kycregistry.api.responses import envelope
from kycregistry.api.schema import AUTH_ERRORS, envelope_schema, error_response
from kycregistry.api.scoping import ScopedAPIMixin

INVALID = {400: error_response("Invalid body or parameter: `errors` names each field.")}
CUSTOMER_NOT_FOUND = {404: error_response('"Customer not found" (also another organisation\'s).')}
SESSION_NOT_FOUND = {404: error_response('"Session not found" (also another organisation\'s).')}
SESSION = envelope_schema("SessionEnvelope", SessionOutputSerializer())
RISK_PROFILE = envelope_schema("RiskProfileEnvelope", RiskProfileSerializer())
RISK_RULES = envelope_schema("RiskRulesEnvelope", RiskRulesSerializer())


class SessionPagination(PagePagination):
    response_message = "Sessions fetched successfully"


def _session_page_schema() -> Any:
    return SessionPagination().get_paginated_response_schema(
        {"type": "array", "items": {"$ref": "#/components/schemas/SessionOutput"}}
    )


class SessionListView(ScopedAPIMixin, APIView):  # type: ignore[misc]
    list_pagination = SessionPagination  # page, pageSize, cursor and their errors

    @extend_schema(
        operation_id="sessions_list",
        summary="List KYC sessions",
        parameters=[
            OpenApiParameter("status", str, enum=SessionStatus.values),
            OpenApiParameter("customerId", str, description="The customer's referenceId."),
            OpenApiParameter("createdAfter", str, description="ISO date/datetime, inclusive."),
            OpenApiParameter(
                "createdBefore", str, description="ISO date (whole day) or datetime, inclusive."
            ),
        ],
        responses={200: _session_page_schema(), **INVALID, **AUTH_ERRORS},
    )
    def get(self, request: Request) -> Response:
        sessions = session_list(organisation=self.organisation, filters=request.query_params)
        paginator = SessionPagination()
        page = paginator.paginate_queryset(sessions, request, view=self)
        return paginator.get_paginated_response(SessionOutputSerializer(page, many=True).data)

    @extend_schema(
        summary="Record a KYC session",
        description="Seed 002. Exactly one of `customerId` (an existing customer's "
        "referenceId) and `clientId` (a referenceId: the customer is created from "
        "`customer` when missing, and `customerCreated` is true). The session updates the "
        "customer's lastIpAddress, lastUserAgent and usualUserAgent and rescores it.",
        request=SessionInputSerializer,
        responses={
            201: SESSION,
            400: error_response(
                "Invalid body, or neither/both of customerId and clientId: "
                '"Give exactly one of customerId and clientId (got both)."'
            ),
            **AUTH_ERRORS,
            **CUSTOMER_NOT_FOUND,
        },
    )
    def post(self, request: Request) -> Response:
        result = session_create(organisation=self.organisation, data=request.data)
        data = SessionOutputSerializer(
            result.session, context={"customer_created": result.customer_created}
        ).data
        return envelope(data, "Session created successfully", status=201)


class SessionDetailView(ScopedAPIMixin, APIView):  # type: ignore[misc]
    @extend_schema(
        summary="Get a KYC session",
        responses={200: SESSION, **AUTH_ERRORS, **SESSION_NOT_FOUND},
    )
    def get(self, request: Request, public_id: str) -> Response:
        session = session_get(organisation=self.organisation, public_id=public_id)
        return envelope(SessionOutputSerializer(session).data, "Session fetched successfully")

    @extend_schema(
        summary="Update a KYC session",
        description="status, checks, ipAddress, userAgent. Statuses: created → in_progress "
        "→ approved | declined | review; review → approved | declined; any non-final → "
        "expired. Reaching approved, declined or expired sets completedAt; such a session "
        "cannot change any more (409).",
        request=SessionPatchSerializer,
        responses={
            200: SESSION,
            **INVALID,
            **AUTH_ERRORS,
            **SESSION_NOT_FOUND,
            409: error_response(
                '"Session is already approved" (its status), or "Session cannot go from '
                'created to approved".'
            ),
        },
    )
    def patch(self, request: Request, public_id: str) -> Response:
        session = session_get(organisation=self.organisation, public_id=public_id)
        try:
            updated = session_update(session=session, data=request.data)
        except SessionConflict as exc:
            raise Conflict(str(exc)) from exc
        updated.customer = session.customer
        return envelope(SessionOutputSerializer(updated).data, "Session updated successfully")


class CustomerSessionsView(CustomerScopedMixin, APIView):  # type: ignore[misc]
    list_pagination = SessionPagination

    @extend_schema(
        operation_id="customer_sessions_list",
        summary="A customer's KYC sessions, newest first",
        responses={200: _session_page_schema(), **INVALID, **AUTH_ERRORS, **CUSTOMER_NOT_FOUND},
    )
    def get(self, request: Request, reference_id: str) -> Response:
        customer = self.get_customer(reference_id)
        paginator = SessionPagination()
        page = paginator.paginate_queryset(customer_sessions(customer=customer), request, view=self)
        return paginator.get_paginated_response(SessionOutputSerializer(page, many=True).data)


class RiskProfileView(CustomerScopedMixin, APIView):  # type: ignore[misc]
    @extend_schema(
        summary="A customer's risk profile: the score and every factor behind it",
        description="The factors' points add up to riskScore (a `cap` entry takes off what "
        "goes over 100). riskScoreName follows the organisation's bands.",
        responses={200: RISK_PROFILE, **AUTH_ERRORS, **CUSTOMER_NOT_FOUND},
    )
    def get(self, request: Request, reference_id: str) -> Response:
        data = RiskProfileSerializer(risk_profile(customer=self.get_customer(reference_id))).data
        return envelope(data, "Risk profile fetched successfully")

    @extend_schema(
        summary="Recalculate a customer's risk profile now",
        request=None,
        responses={200: RISK_PROFILE, **AUTH_ERRORS, **CUSTOMER_NOT_FOUND},
    )
    def post(self, request: Request, reference_id: str) -> Response:
        customer = customer_rescore(customer=self.get_customer(reference_id))
        data = RiskProfileSerializer(risk_profile(customer=customer)).data
        return envelope(data, "Risk profile recalculated")


class RiskRulesView(ScopedAPIMixin, APIView):  # type: ignore[misc]
    @extend_schema(
        summary="The organisation's risk rules and the progress of their rescoring",
        responses={200: RISK_RULES, **AUTH_ERRORS},
    )
    def get(self, request: Request) -> Response:
        data = RiskRulesSerializer(risk_rules_current(organisation=self.organisation)).data
        return envelope(data, "Risk rules fetched successfully")

    @extend_schema(
        summary="Replace the risk rules",
        description="The full rule set, validated and stored as a new version. Every "
        "customer of the organisation is then rescored in the background; `rescoring` "
        "on GET shows the progress.",
        request={"application/json": RULES_SCHEMA},
        responses={200: RISK_RULES, **INVALID, **AUTH_ERRORS},
    )
    def put(self, request: Request) -> Response:
        risk_rules_replace(organisation=self.organisation, data=request.data)
        data = RiskRulesSerializer(risk_rules_current(organisation=self.organisation)).data
        return envelope(data, "Risk rules updated successfully")
