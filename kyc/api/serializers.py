"""Sessions, risk profiles and risk rules in and out of the API. Input serializers
document the bodies in the OpenAPI schema; kyc.validation and kyc.rules validate."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kyc.models import CheckStatus, CheckType, SessionStatus
from kycregistry.api.fields import IsoMillisDateTimeField, iso_ms


class CheckSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=CheckType.choices)
    status = serializers.ChoiceField(choices=CheckStatus.choices)
    reason = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=1000
    )


class SessionOutputSerializer(serializers.Serializer):
    """Needs `customer_created` in the context for create answers (default false)."""

    id = serializers.UUIDField(source="public_id")
    customerReferenceId = serializers.CharField(source="customer.reference_id")
    status = serializers.CharField()
    ipAddress = serializers.CharField(source="ip_address", allow_null=True)
    userAgent = serializers.SerializerMethodField()
    workflow = serializers.SerializerMethodField()
    checks = CheckSerializer(many=True)
    customerCreated = serializers.SerializerMethodField()
    createdAt = IsoMillisDateTimeField(source="created_at")
    updatedAt = IsoMillisDateTimeField(source="updated_at")
    completedAt = IsoMillisDateTimeField(source="completed_at", allow_null=True)

    def get_userAgent(self, session: Any) -> str | None:
        return session.user_agent or None

    def get_workflow(self, session: Any) -> str | None:
        return session.workflow or None

    def get_customerCreated(self, session: Any) -> bool:
        return bool(self.context.get("customer_created", False))


class SessionCustomerSerializer(serializers.Serializer):
    name = serializers.CharField(required=False)
    accountTypeId = serializers.ChoiceField(choices=[1, 2], required=False)


class SessionInputSerializer(serializers.Serializer):
    customerId = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="referenceId of an existing customer (or clientId; null: absent).",
    )
    clientId = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="A referenceId; the customer is created from `customer` when missing.",
    )
    customer = SessionCustomerSerializer(
        required=False,
        help_text="With clientId: {name, accountTypeId, …any customer upsert field}; "
        "default a person named after the clientId.",
    )
    status = serializers.ChoiceField(choices=SessionStatus.choices, default=SessionStatus.CREATED)
    ipAddress = serializers.IPAddressField(required=False, allow_null=True, allow_blank=True)
    userAgent = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=1000
    )
    workflow = serializers.CharField(required=False, max_length=200)
    checks = CheckSerializer(
        many=True, required=False, allow_null=True, help_text="null: no checks."
    )


class SessionPatchSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=SessionStatus.choices, required=False)
    ipAddress = serializers.IPAddressField(required=False, allow_null=True, allow_blank=True)
    userAgent = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=1000
    )
    checks = CheckSerializer(
        many=True, required=False, allow_null=True, help_text="null: no checks."
    )


class FactorSerializer(serializers.Serializer):
    code = serializers.CharField()
    description = serializers.CharField()
    points = serializers.IntegerField()


class RiskProfileSerializer(serializers.Serializer):
    riskScore = serializers.IntegerField(allow_null=True)
    riskScoreName = serializers.CharField(allow_null=True)
    factors = FactorSerializer(many=True)
    calculatedAt = IsoMillisDateTimeField(allow_null=True)
    rulesVersion = serializers.IntegerField(allow_null=True)


RULES_SCHEMA = {
    "type": "object",
    "description": "countries (ISO code → points), accountTypes ('1'/'2' → points), "
    "declinedSession, declinedSessionMax, reviewSession, reviewSessionMax, "
    "noApprovedSession, connectedHighRisk, missingOwnership (points), customFields "
    "(field key → value → points), bands ({medium, high}: the lowest score of each "
    "level). Left-out keys switch their factor off; bands is required.",
    "example": {
        "countries": {"IR": 50, "SY": 25},
        "accountTypes": {"1": 0, "2": 10},
        "declinedSession": 15,
        "declinedSessionMax": 45,
        "reviewSession": 10,
        "reviewSessionMax": 20,
        "noApprovedSession": 10,
        "connectedHighRisk": 25,
        "missingOwnership": 10,
        "customFields": {"industry": {"crypto": 30}},
        "bands": {"medium": 25, "high": 50},
    },
}


class RiskRulesSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="0: the shipped defaults.")
    isDefault = serializers.BooleanField()
    updatedAt = IsoMillisDateTimeField(allow_null=True)
    rules = serializers.SerializerMethodField()
    rescoring = serializers.SerializerMethodField()

    @extend_schema_field(RULES_SCHEMA)
    def get_rules(self, data: dict[str, Any]) -> dict[str, Any]:
        return data["rules"]

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "status": {
                    "type": "string",
                    "enum": ["queued", "running", "completed", "superseded", "failed"],
                },
                "processed": {"type": "integer"},
                "total": {"type": "integer"},
                "changedLevels": {"type": "integer"},
                "rulesVersion": {"type": "integer"},
                "message": {"type": "string", "nullable": True},
                "startedAt": {"type": "string", "nullable": True},
                "finishedAt": {"type": "string", "nullable": True},
            },
            "description": "The latest rescoring of every customer after a rules change.",
        }
    )
    def get_rescoring(self, data: dict[str, Any]) -> dict[str, Any] | None:
        job = data["rescoring"]
        if job is None:
            return None
        return {
            "status": job.status,
            "processed": job.processed,
            "total": job.total,
            "changedLevels": job.changed_levels,
            "rulesVersion": job.rules_version,
            "message": job.message or None,
            "startedAt": iso_ms(job.started_at),
            "finishedAt": iso_ms(job.finished_at),
        }
