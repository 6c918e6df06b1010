"""Connections in and out of the API: seed 000's item shape plus the attributes of README
"Customers and connections: the rules"."""

from typing import Any

from rest_framework import serializers

from kycregistry.api.fields import IsoMillisDateTimeField
from relations.models import Connection
from relations.validation import ROLE_INPUTS, format_percentage


class ConnectedCustomerSerializer(serializers.Serializer):
    name = serializers.CharField()
    referenceId = serializers.CharField(source="reference_id")


class ConnectionOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    role = serializers.CharField()
    createdAt = IsoMillisDateTimeField(source="created_at")
    updatedAt = IsoMillisDateTimeField(source="updated_at")
    connectedCustomer = ConnectedCustomerSerializer(source="connected_customer")
    ownershipPercentage = serializers.SerializerMethodField()
    validFrom = serializers.DateField(source="valid_from", allow_null=True)
    validTo = serializers.DateField(source="valid_to", allow_null=True)

    def get_ownershipPercentage(self, connection: Connection) -> str | None:
        value = connection.ownership_percentage
        return None if value is None else format_percentage(value)


# The input serializers describe the request bodies in the OpenAPI schema. The views
# parse bodies with relations.validation, the parser the Excel import shares, so a
# `connects` list means the same thing (and fails with the same words) everywhere.


class ConnectItemInputSerializer(serializers.Serializer):
    referenceId = serializers.CharField(
        required=False, max_length=128, help_text="referenceId of the connected customer."
    )
    customer = serializers.DictField(
        required=False,
        help_text="Inline customer (referenceId, name, accountTypeId, identity, profile), "
        "created or updated in the same transaction (seed 004).",
    )
    role = serializers.ChoiceField(
        choices=list(ROLE_INPUTS),
        help_text="REPRESENTATIVE means AUTHORIZED_PERSON; director-and-shareholder makes "
        "two connections (full list only).",
    )
    ownershipPercentage = serializers.CharField(
        required=False,
        allow_null=True,
        help_text='0 < p ≤ 100, at most 4 decimals, string or number ("30.5"); '
        "SHAREHOLDER and UBO only.",
    )
    validFrom = serializers.DateField(required=False, allow_null=True)
    validTo = serializers.DateField(required=False, allow_null=True)


class ConnectionsReplaceInputSerializer(serializers.Serializer):
    connects = ConnectItemInputSerializer(
        many=True, help_text="The full list (at most 1000 items); [] removes every connection."
    )


class ConnectionPatchInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=list(ROLE_INPUTS), required=False)
    ownershipPercentage = serializers.CharField(required=False, allow_null=True)
    validFrom = serializers.DateField(required=False, allow_null=True)
    validTo = serializers.DateField(required=False, allow_null=True)


def connection_data(connection: Connection) -> dict[str, Any]:
    return ConnectionOutputSerializer(connection).data
