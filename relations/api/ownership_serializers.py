"""The ownership structure in and out of the API."""

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from relations.ownership import Holding, OwnershipPath, format_percentage


class OrganizationQuerySerializer(serializers.Serializer):
    asOf = serializers.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        help_text="The date the structure is read for (YYYY-MM-DD); default today.",
        error_messages={"invalid": "Must be a date in YYYY-MM-DD format."},
    )
    threshold = serializers.DecimalField(
        required=False,
        max_digits=7,
        decimal_places=4,
        help_text="Effective ownership (percent, 0 < t ≤ 100) at which a natural person is a "
        "derived UBO; default the organisation's setting (25).",
        error_messages={"invalid": "Must be a number greater than 0 and at most 100."},
    )

    def validate_threshold(self, value: Decimal) -> Decimal:
        if not Decimal(0) < value <= Decimal(100):
            raise serializers.ValidationError("Must be a number greater than 0 and at most 100.")
        return value


@extend_schema_field(OpenApiTypes.STR)
class PercentageField(serializers.Field):
    """Exact decimal as a string, 4 places at most, no trailing zeros (`"33.3333"`)."""

    def to_representation(self, value: Decimal) -> str:
        return format_percentage(value)


class PartySerializer(serializers.Serializer):
    referenceId = serializers.CharField(source="reference_id")
    name = serializers.CharField()


class HoldingPartySerializer(serializers.Serializer):
    referenceId = serializers.CharField(source="party.reference_id")
    name = serializers.CharField(source="party.name")


class ShareholderSerializer(HoldingPartySerializer):
    accountTypeId = serializers.IntegerField(source="party.account_type")
    ownershipPercentage = serializers.SerializerMethodField()

    def get_ownershipPercentage(self, holding: Holding) -> str | None:
        return None if holding.percentage is None else format_percentage(holding.percentage)


class PathSerializer(serializers.Serializer):
    percentage = PercentageField(source="effective")
    chain = serializers.SerializerMethodField()
    text = serializers.CharField()

    def get_chain(self, path: OwnershipPath) -> list[str]:
        return [party.reference_id for party in path.chain]


class DerivedUboSerializer(serializers.Serializer):
    referenceId = serializers.CharField(source="party.reference_id")
    name = serializers.CharField(source="party.name")
    effectiveOwnership = PercentageField(source="effective")
    paths = PathSerializer(many=True)


class DiscrepancySerializer(serializers.Serializer):
    referenceId = serializers.CharField(source="party.reference_id")
    kind = serializers.ChoiceField(choices=["declared_not_derived", "derived_not_declared"])
    message = serializers.CharField()


@extend_schema_field({"type": "array", "items": {"type": "array", "items": {"type": "string"}}})
class CyclesField(serializers.Field):
    def to_representation(self, value: Any) -> list[list[str]]:
        return [[party.reference_id for party in cycle] for cycle in value]


class OrganizationStructureSerializer(serializers.Serializer):
    customer = PartySerializer()
    asOf = serializers.DateField(source="as_of")
    threshold = PercentageField()
    directors = HoldingPartySerializer(many=True)
    authorizedPersons = HoldingPartySerializer(many=True, source="authorized_persons")
    declaredUbos = HoldingPartySerializer(many=True, source="declared_ubos")
    shareholders = ShareholderSerializer(many=True)
    derivedUbos = DerivedUboSerializer(many=True, source="derived_ubos")
    discrepancies = DiscrepancySerializer(many=True)
    cycles = CyclesField(
        help_text="Each circular holding, as referenceIds in ownership order: each owns "
        "shares of the next, the last of the first."
    )
    truncated = serializers.BooleanField(
        help_text="True when the walk stopped at its depth (12) or path (200,000) limit."
    )
