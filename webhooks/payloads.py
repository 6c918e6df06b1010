"""The bodies of webhook events, serialised once when the event is written.

Events are `{"type", "timestamp", "data"}` (the shape Standard Webhooks recommends),
with `data` as the API shows the object (built by the same functions and output
serializers as the API's answers).
Seed 004's two client events keep the seed's own body instead:
`{"webhook": {"module": "clients", "type": …}, "data": {"client": …}, "connect": …,
"metadata": {}}`.
"""

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from customers.api.serializers import customer_json, full_name, identity_data, profile_data
from customers.models import Customer, CustomerFieldDefinition
from imports.api.serializers import BulkUploadSerializer
from imports.models import BulkUpload
from kycregistry.api.fields import iso_ms
from kycregistry.events import RemovedConnection
from relations.api.serializers import ConnectionOutputSerializer
from relations.models import Connection
from relations.validation import format_percentage

# Model field → the name the API shows it under (`changedFields` of customer.updated).
API_FIELD_NAMES = {
    "reference_id": "referenceId",
    "account_type": "accountTypeId",
    "client_number": "clientNumber",
    "external_id": "externalId",
    "risk_score": "riskScore",
    "last_ip_address": "lastIpAddress",
    "last_user_agent": "lastUserAgent",
    "usual_user_agent": "usualUserAgent",
    "last_screening_date": "lastScreeningDate",
    "onboarding_status": "onboardingStatus",
    "needs_review": "needsReview",
    "review_reason": "reviewReason",
    "given_name": "identity.givenName",
    "family_name": "identity.familyName",
    "birth_date": "identity.birthDate",
    "legal_name": "identity.legalName",
    "incorporation_date": "identity.incorporationDate",
    "corporation_type": "identity.corporationType",
    "country": "identity.country",
    "identifications": "identity.identifications",
    "phone": "profile.phone",
    "email": "profile.email",
    "custom_fields": "customFields",
}


def dumps(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def event_body(*, event_type: str, data: Any, timestamp: datetime) -> str:
    return dumps({"type": event_type, "timestamp": iso_ms(timestamp), "data": data})


def changed_field_names(customer: Customer, fields: Iterable[str]) -> list[str]:
    names = set()
    for field in fields:
        if field == "address":
            key = "residentialAddress" if customer.is_person else "registrationAddress"
            names.add(f"profile.{key}")
        else:
            names.add(API_FIELD_NAMES.get(field, field))
    return sorted(names)


def customer_data(
    customers: Iterable[Customer], definitions: list[CustomerFieldDefinition]
) -> dict[int, dict[str, Any]]:
    return {customer.pk: customer_json(customer, definitions) for customer in customers}


def _present(values: Mapping[str, Any]) -> dict[str, Any]:
    """The seed's client bodies leave out what a client does not have."""
    return {key: value for key, value in values.items() if value not in (None, [], {})}


def client_id(customer: Customer) -> str:
    # The client API gives customers a public UUID; until it lands, the id is the key.
    return str(getattr(customer, "public_id", None) or customer.pk)


def client_body(
    *, customer: Customer, webhook_type: str, connect: Mapping[str, Any] | None = None
) -> str:
    client = {
        "id": client_id(customer),
        "clientNumber": customer.client_number,
        "status": customer.status,
        "identity": _present(identity_data(customer)),
        "profile": _present(profile_data(customer)),
        "fullName": full_name(customer),
    }
    return dumps(
        {
            "webhook": {"module": "clients", "type": webhook_type},
            "data": {"client": client},
            "connect": dict(connect or {}),
            "metadata": {},
        }
    )


def connection_data(connection: Connection) -> dict[str, Any]:
    data = ConnectionOutputSerializer(connection).data
    return {"customerReferenceId": connection.customer.reference_id, **data}


def removed_connection_data(
    removed: RemovedConnection, customers: Mapping[int, Customer]
) -> dict[str, Any]:
    holder = customers.get(removed.connected_customer_id)
    company = customers.get(removed.customer_id)
    percentage = removed.ownership_percentage
    return {
        "customerReferenceId": company.reference_id if company else None,
        "id": str(removed.id),
        "role": removed.role,
        "connectedCustomer": {
            "name": holder.name if holder else None,
            "referenceId": holder.reference_id if holder else None,
        },
        "ownershipPercentage": None if percentage is None else format_percentage(percentage),
        "validFrom": removed.valid_from.isoformat() if removed.valid_from else None,
        "validTo": removed.valid_to.isoformat() if removed.valid_to else None,
    }


def upload_data(upload: BulkUpload) -> dict[str, Any]:
    """The job and its counts; the row errors stay in the report (they can be many)."""
    data = dict(BulkUploadSerializer(upload).data)
    data.pop("rowErrors", None)
    return data
