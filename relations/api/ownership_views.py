"""Ownership structure, its exports and KYB decisions (README "Ownership structure")."""

from datetime import date
from decimal import Decimal

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.api.scoping import CustomerScopedMixin
from customers.api.views import CUSTOMER, CustomerViewMixin
from kycregistry.api.exceptions import ApiError
from kycregistry.api.responses import envelope
from kycregistry.api.schema import AUTH_ERRORS, envelope_schema, error_response
from onboarding.services import KybConstraintsFailed, customer_approve, customer_reject
from organisations.models import Scope
from relations.api.ownership_serializers import (
    OrganizationQuerySerializer,
    OrganizationStructureSerializer,
)
from relations.exports.bods import bods_statements
from relations.exports.ftm import ftm_entities
from relations.ownership import OwnershipStructure, ownership_structure

ERRORS = {
    400: error_response("Invalid asOf or threshold: `errors` names the parameter."),
    **AUTH_ERRORS,
    404: error_response('"Customer not found" (also another organisation\'s).'),
}
STRUCTURE = envelope_schema("OrganizationStructureEnvelope", OrganizationStructureSerializer())
FTM = envelope_schema(
    "FollowTheMoneyEnvelope",
    serializers.ListField(
        child=serializers.DictField(), help_text="FtM entities: {id, schema, properties}."
    ),
)
BODS = OpenApiResponse(
    {"type": "array", "items": {"type": "object", "description": "A BODS 0.4 statement."}},
    "A bare JSON array of BODS 0.4 statements (not wrapped in the envelope).",
)
QUERY_PARAMETERS = [
    OpenApiParameter("asOf", OpenApiTypes.DATE, description="YYYY-MM-DD; default today."),
    OpenApiParameter(
        "threshold",
        OpenApiTypes.DECIMAL,
        description="Percent, 0 < t ≤ 100; default the organisation's ownership threshold.",
    ),
]


class StructureMixin(CustomerScopedMixin):
    def get_structure(self, request: Request, reference_id: str) -> OwnershipStructure:
        customer = self.get_customer(reference_id)  # 404 before any 400: no hint
        # A plain dict: DRF reads an empty value of a form-like QueryDict as "absent",
        # and `threshold=` must be refused, not taken for the default.
        query = OrganizationQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        as_of: date = query.validated_data.get("asOf") or timezone.localdate()
        threshold: Decimal = query.validated_data.get(
            "threshold", self.organisation.ownership_threshold
        )
        return ownership_structure(customer=customer, as_of=as_of, threshold=threshold)


class OrganizationStructureView(StructureMixin, APIView):  # type: ignore[misc]
    @extend_schema(
        operation_id="customer_organization",
        summary="Ownership structure of a company",
        description="Directors, authorised persons, declared UBOs, direct shareholders and "
        "the derived UBOs (natural persons whose effective ownership reaches the threshold) "
        "with the paths that explain them; discrepancies and circular holdings. Percentages "
        "are exact decimals as strings (4 places at most).",
        parameters=QUERY_PARAMETERS,
        responses={200: STRUCTURE, **ERRORS},
    )
    def get(self, request: Request, reference_id: str) -> Response:
        structure = self.get_structure(request, reference_id)
        return envelope(
            OrganizationStructureSerializer(structure).data,
            "Organization structure fetched successfully",
        )


class OrganizationBodsView(StructureMixin, APIView):  # type: ignore[misc]
    @extend_schema(
        operation_id="customer_organization_bods",
        summary="Ownership structure as BODS 0.4 statements",
        description="A bare JSON array of Beneficial Ownership Data Standard 0.4 statements "
        "(the BODS package format, not wrapped in the envelope): entity and person records "
        "first, then relationship records. Errors use the error envelope.",
        parameters=QUERY_PARAMETERS,
        responses={200: BODS, **ERRORS},
    )
    def get(self, request: Request, reference_id: str) -> Response:
        structure = self.get_structure(request, reference_id)
        return Response(bods_statements(structure, organisation=self.organisation))


class OrganizationFtmView(StructureMixin, APIView):  # type: ignore[misc]
    @extend_schema(
        operation_id="customer_organization_ftm",
        summary="Ownership structure as FollowTheMoney entities",
        description="`data` is a list of FollowTheMoney entities (Person, Company, "
        "Ownership, Directorship, Representation) in their JSON form "
        "(`{id, schema, properties}`).",
        parameters=QUERY_PARAMETERS,
        responses={200: FTM, **ERRORS},
    )
    def get(self, request: Request, reference_id: str) -> Response:
        structure = self.get_structure(request, reference_id)
        return envelope(
            ftm_entities(structure, organisation=self.organisation),
            "Organization entities fetched successfully",
        )


class CustomerApproveView(CustomerViewMixin, APIView):  # type: ignore[misc]
    required_scope = Scope.KYC_CREATE

    @extend_schema(
        operation_id="customer_approve",
        summary="Approve a customer (KYB constraints for companies)",
        request=None,
        responses={
            200: CUSTOMER,
            400: error_response(
                "Failed KYB constraints: `message` and `errors.constraints` "
                "name each one (min_shareholders, min_authorized_persons, "
                "min_total_shareholding).",
            ),
            **{k: v for k, v in ERRORS.items() if k != 400},
        },
    )
    def post(self, request: Request, reference_id: str) -> Response:
        customer = self.get_customer(reference_id)
        try:
            customer = customer_approve(customer=customer)
        except KybConstraintsFailed as exc:
            errors = {"constraints": [str(f) for f in exc.failures]}
            raise ApiError(400, str(exc.message), errors) from exc
        return envelope(self.customer_data(customer), "Customer approved successfully")


class CustomerRejectView(CustomerViewMixin, APIView):  # type: ignore[misc]
    required_scope = Scope.KYC_CREATE

    @extend_schema(
        operation_id="customer_reject",
        summary="Reject a customer",
        request=None,
        responses={200: CUSTOMER, **{k: v for k, v in ERRORS.items() if k != 400}},
    )
    def post(self, request: Request, reference_id: str) -> Response:
        customer = customer_reject(customer=self.get_customer(reference_id))
        return envelope(self.customer_data(customer), "Customer rejected successfully")
