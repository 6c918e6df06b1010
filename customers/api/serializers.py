"""Customers in and out of the API: seed 001's fields plus seed 004's identity/profile.

Output serializers list every field; input serializers document the request bodies in
the OpenAPI schema only. The views hand the raw JSON to customers.validation, the
validator the Excel import shares, so a payload fails with the same words everywhere.
"""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customers.models import AccountType, Customer, CustomerFieldDefinition, FieldType
from customers.validation import ADDRESS_KEYS, ADDRESS_PARTS, IDENTITY_TYPES
from kycregistry.api.fields import IsoMillisDateTimeField, iso_ms


def _blank_to_none(value: str | None) -> str | None:
    return value or None


def identity_data(customer: Customer) -> dict[str, Any]:
    common = {
        "country": customer.country or None,
        "identifications": customer.identifications or [],
    }
    if customer.account_type == AccountType.COMPANY:
        return {
            "type": IDENTITY_TYPES[AccountType.COMPANY],
            "legalName": customer.legal_name or None,
            "incorporationDate": _iso_date(customer.incorporation_date),
            "corporationType": customer.corporation_type or None,
            **common,
        }
    return {
        "type": IDENTITY_TYPES[AccountType.PERSON],
        "givenName": customer.given_name or None,
        "familyName": customer.family_name or None,
        "birthDate": _iso_date(customer.birth_date),
        **common,
    }


def _iso_date(value: Any) -> str | None:
    return value.isoformat() if value else None


def address_data(address: dict[str, Any] | None) -> dict[str, Any] | None:
    """The address parts in their documented order: PostgreSQL's jsonb keeps its own
    order of keys, so without this the answers differed between the databases."""
    if not address:
        return None
    ordered = {key: address[key] for key in ADDRESS_PARTS if key in address}
    return {**ordered, **address} if len(ordered) < len(address) else ordered


def profile_data(customer: Customer) -> dict[str, Any]:
    account_type = AccountType(customer.account_type)
    return {
        "identityType": IDENTITY_TYPES[account_type],
        ADDRESS_KEYS[account_type]: address_data(customer.address),
        "phone": customer.phone or None,
        "email": customer.email or None,
    }


def full_name(customer: Customer) -> str:
    if customer.account_type == AccountType.COMPANY:
        return customer.legal_name or customer.name
    given = " ".join(part for part in (customer.given_name, customer.family_name) if part)
    return given or customer.name


def customer_json(customer: Customer, definitions: list[CustomerFieldDefinition]) -> dict[str, Any]:
    """The API's JSON of a customer, built directly: exactly what
    CustomerOutputSerializer gives (a test compares them), without constructing a
    serializer and its fields for every customer of every request."""
    values = customer.custom_fields or {}
    shown = [d for d in definitions if d.key in values]
    return {
        "id": customer.id,
        "referenceId": customer.reference_id,
        "name": customer.name,
        "fullName": full_name(customer),
        "accountTypeId": customer.account_type,
        "status": customer.status,
        "clientNumber": customer.client_number,
        "externalId": customer.external_id or None,
        "riskScore": customer.risk_score,
        "riskScoreName": customer.risk_score_name,
        "lastIpAddress": customer.last_ip_address,
        "lastUserAgent": customer.last_user_agent or None,
        "usualUserAgent": customer.usual_user_agent or None,
        "lastScreeningDate": iso_ms(customer.last_screening_date),
        "onboardingStatus": customer.onboarding_status,
        "monitored": customer.monitored,
        "monitoringFrequency": customer.monitoring_frequency or None,
        "nextScreeningAt": iso_ms(customer.next_screening_at),
        "organizationId": str(customer.organisation_id),
        "createdAt": iso_ms(customer.created_at),
        "updatedAt": iso_ms(customer.updated_at),
        "identity": identity_data(customer),
        "profile": profile_data(customer),
        "customFields": {d.key: values[d.key] for d in shown},
        "customerMappedField": [
            {"value": values[d.key], "CustomerFieldDefinition": {"name": d.name, "key": d.key}}
            for d in shown
        ],
    }


class CustomerOutputSerializer(serializers.Serializer):
    """The schema of `customer_json` (which the views use); needs `definitions` (the
    organisation's field definitions) in the context."""

    id = serializers.IntegerField()
    referenceId = serializers.CharField(source="reference_id")
    name = serializers.CharField()
    fullName = serializers.SerializerMethodField()
    accountTypeId = serializers.ChoiceField(
        choices=[1, 2], source="account_type", help_text="1 Person, 2 Company."
    )
    status = serializers.CharField()
    clientNumber = serializers.CharField(source="client_number")
    externalId = serializers.SerializerMethodField()
    riskScore = serializers.IntegerField(source="risk_score", allow_null=True)
    riskScoreName = serializers.CharField(source="risk_score_name", allow_null=True)
    lastIpAddress = serializers.CharField(source="last_ip_address", allow_null=True)
    lastUserAgent = serializers.SerializerMethodField()
    usualUserAgent = serializers.SerializerMethodField()
    lastScreeningDate = IsoMillisDateTimeField(source="last_screening_date", allow_null=True)
    onboardingStatus = serializers.CharField(source="onboarding_status")
    monitored = serializers.BooleanField()
    monitoringFrequency = serializers.SerializerMethodField()
    nextScreeningAt = IsoMillisDateTimeField(source="next_screening_at", allow_null=True)
    organizationId = serializers.UUIDField(source="organisation_id")
    createdAt = IsoMillisDateTimeField(source="created_at")
    updatedAt = IsoMillisDateTimeField(source="updated_at")
    identity = serializers.SerializerMethodField()
    profile = serializers.SerializerMethodField()
    customFields = serializers.SerializerMethodField()
    customerMappedField = serializers.SerializerMethodField()

    def _definitions(self) -> list[CustomerFieldDefinition]:
        return self.context["definitions"]

    @extend_schema_field(
        serializers.CharField(allow_null=True, help_text="daily, weekly or monthly when monitored")
    )
    def get_monitoringFrequency(self, customer: Customer) -> str | None:
        return customer.monitoring_frequency or None

    def get_fullName(self, customer: Customer) -> str:
        return full_name(customer)

    def get_externalId(self, customer: Customer) -> str | None:
        return _blank_to_none(customer.external_id)

    def get_lastUserAgent(self, customer: Customer) -> str | None:
        return _blank_to_none(customer.last_user_agent)

    def get_usualUserAgent(self, customer: Customer) -> str | None:
        return _blank_to_none(customer.usual_user_agent)

    @extend_schema_field(
        {"type": "object", "description": "Seed 004 identity: individual or corporate."}
    )
    def get_identity(self, customer: Customer) -> dict[str, Any]:
        return identity_data(customer)

    @extend_schema_field(
        {
            "type": "object",
            "description": "Seed 004 profile: identityType, residentialAddress (persons) or "
            "registrationAddress (companies), phone, email.",
        }
    )
    def get_profile(self, customer: Customer) -> dict[str, Any]:
        return profile_data(customer)

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_customFields(self, customer: Customer) -> dict[str, Any]:
        values = customer.custom_fields or {}
        return {d.key: values[d.key] for d in self._definitions() if d.key in values}

    @extend_schema_field(
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "value": {},
                    "CustomerFieldDefinition": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "key": {"type": "string"}},
                    },
                },
            },
        }
    )
    def get_customerMappedField(self, customer: Customer) -> list[dict[str, Any]]:
        values = customer.custom_fields or {}
        return [
            {"value": values[d.key], "CustomerFieldDefinition": {"name": d.name, "key": d.key}}
            for d in self._definitions()
            if d.key in values
        ]


class CustomerDetailSerializer(CustomerOutputSerializer):
    """Also needs `connection_counts` in the context."""

    connectionCounts = serializers.SerializerMethodField()

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "total": {"type": "integer"},
                "byRole": {"type": "object", "additionalProperties": {"type": "integer"}},
                "heldTotal": {"type": "integer"},
                "heldByRole": {"type": "object", "additionalProperties": {"type": "integer"}},
            },
            "description": "total/byRole: the customer's connections (GET …/connections); "
            "heldTotal/heldByRole: roles the customer holds towards other customers.",
        }
    )
    def get_connectionCounts(self, customer: Customer) -> dict[str, Any]:
        return self.context["connection_counts"]


class CustomerWriteResultSerializer(CustomerOutputSerializer):
    ignoredFields = serializers.ListField(child=serializers.CharField())


class AddressInputSerializer(serializers.Serializer):
    country = serializers.CharField(required=False, help_text="ISO 3166-1 alpha-2.")
    region = serializers.CharField(
        required=False, help_text="For US, CA and MX an ISO 3166-2 code: US-CA (or CA)."
    )
    city = serializers.CharField(required=False)
    street = serializers.CharField(required=False)
    houseNumber = serializers.CharField(required=False)
    postalCode = serializers.CharField(required=False)
    refinement = serializers.CharField(required=False)


class IdentificationInputSerializer(serializers.Serializer):
    type = serializers.CharField()
    identificationNumber = serializers.CharField()
    issuingCountry = serializers.CharField(required=False)
    issueDate = serializers.DateField(required=False)
    expirationDate = serializers.DateField(required=False)


class IdentityInputSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["individual", "corporate"], required=False)
    givenName = serializers.CharField(
        required=False, help_text="Persons; required with familyName."
    )
    familyName = serializers.CharField(required=False)
    birthDate = serializers.DateField(required=False)
    legalName = serializers.CharField(required=False, help_text="Companies; required.")
    incorporationDate = serializers.DateField(required=False)
    corporationType = serializers.CharField(required=False)
    country = serializers.CharField(required=False, help_text="ISO 3166-1 alpha-2.")
    identifications = IdentificationInputSerializer(many=True, required=False)


class ProfileInputSerializer(serializers.Serializer):
    identityType = serializers.ChoiceField(choices=["individual", "corporate"], required=False)
    residentialAddress = AddressInputSerializer(required=False)
    registrationAddress = AddressInputSerializer(required=False)
    phone = serializers.CharField(required=False, help_text="International: +441234567890.")
    email = serializers.EmailField(required=False)


class CustomerInputSerializer(serializers.Serializer):
    """Any other key is a custom field, matched to a definition by key (seed 001)."""

    name = serializers.CharField(max_length=255)
    referenceId = serializers.CharField(max_length=128)
    accountTypeId = serializers.ChoiceField(choices=[1, 2], help_text="1 Person, 2 Company.")
    externalId = serializers.CharField(required=False, allow_null=True, max_length=128)
    identity = IdentityInputSerializer(required=False)
    profile = ProfileInputSerializer(required=False)
    connects = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text="Full replacement of the customer's connections.",
    )


class FieldDefinitionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField(source="field_type")
    required = serializers.BooleanField()  # type: ignore[assignment]
    choices = serializers.ListField(child=serializers.CharField())
    createdAt = IsoMillisDateTimeField(source="created_at")
    updatedAt = IsoMillisDateTimeField(source="updated_at")


class FieldDefinitionInputSerializer(serializers.Serializer):
    key = serializers.RegexField(r"^[a-zA-Z][a-zA-Z0-9_]{0,63}$", help_text="Immutable.")
    name = serializers.CharField(max_length=200)
    type = serializers.ChoiceField(choices=FieldType.values, default=FieldType.TEXT)
    required = serializers.BooleanField(default=False)  # type: ignore[assignment]
    choices = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        allow_null=True,
        help_text="Type choice only; other types take none (absent, null or []).",
    )
