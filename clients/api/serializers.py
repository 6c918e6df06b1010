"""How the client API shows its rows: seed 004's objects."""

from collections.abc import Mapping
from typing import Any

import customers.api.serializers as customer_output
from clients.models import ClientRelation, PortalUser
from customers.models import Customer
from customers.validation import ADDRESS_KEYS


def present(values: Mapping[str, Any]) -> dict[str, Any]:
    """The seed's objects leave out what a client does not have."""
    return {key: value for key, value in values.items() if value not in (None, [], {})}


def client_data(
    customer: Customer, *, address: bool = True, profile: bool = True
) -> dict[str, Any]:
    """Seed 004's client object."""
    data: dict[str, Any] = {
        "id": str(customer.public_id),
        "clientNumber": customer.client_number,
        "status": customer.status,
        "identity": present(customer_output.identity_data(customer)),
    }
    if profile:
        shown = present(customer_output.profile_data(customer))
        if not address:
            shown = {k: v for k, v in shown.items() if k not in ADDRESS_KEYS.values()}
        data["profile"] = shown
    data["fullName"] = customer_output.full_name(customer)
    return data


def relation_data(relation: ClientRelation) -> dict[str, Any]:
    person = relation.person
    return {
        "id": str(relation.public_id),
        "clientId": str(relation.company.public_id),
        "relation": relation.relation,
        "identity": present(customer_output.identity_data(person)),
        "profile": present(customer_output.profile_data(person)),
        "fullName": customer_output.full_name(person),
    }


def user_data(user: PortalUser) -> dict[str, Any]:
    return {
        "id": str(user.public_id),
        "email": user.email,
        "identity": present(customer_output.identity_data(user.customer)),
        "category": "external",
        "type": "human",
    }


def user_client_relation_data(user: PortalUser) -> dict[str, Any]:
    return {
        "id": str(user.relation_id),
        "userId": str(user.public_id),
        "clientId": str(user.customer.public_id),
        "status": "allowed" if user.active else "blocked",
    }
