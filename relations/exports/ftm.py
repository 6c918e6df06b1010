"""FollowTheMoney entities (`{id, schema, properties}`): Person, Company, Ownership,
Directorship, Representation. Ids are stable: `kyc-<uuid5 of organisation + record>`."""

import uuid
from typing import Any

from customers.models import AccountType, Customer
from organisations.models import Organisation
from relations.exports import Link, export_network
from relations.models import Role
from relations.ownership import OwnershipStructure, format_percentage

ID_NAMESPACE = uuid.UUID("0d7b1d4e-58a4-4c6e-93a1-6a1f4f0b2c77")


def _id(organisation: Organisation, record: str) -> str:
    return "kyc-" + uuid.uuid5(ID_NAMESPACE, f"{organisation.id}/{record}").hex


def _party(organisation: Organisation, customer: Customer) -> dict[str, Any]:
    props: dict[str, list[str]] = {"name": [customer.name]}
    numbers = [
        str(item["identificationNumber"])
        for item in customer.identifications or []
        if isinstance(item, dict) and item.get("identificationNumber")
    ]
    if numbers:
        props["idNumber"] = numbers
    if customer.email:
        props["email"] = [customer.email]
    if customer.phone:
        props["phone"] = [customer.phone]
    if customer.account_type == AccountType.PERSON:
        schema = "Person"
        if customer.given_name:
            props["firstName"] = [customer.given_name]
        if customer.family_name:
            props["lastName"] = [customer.family_name]
        if customer.birth_date:
            props["birthDate"] = [customer.birth_date.isoformat()]
        if customer.country:
            props["nationality"] = [customer.country.lower()]
    else:
        schema = "Company"
        if customer.legal_name and customer.legal_name != customer.name:
            props["alias"] = [customer.legal_name]
        if customer.country:
            props["jurisdiction"] = [customer.country.lower()]
        if customer.incorporation_date:
            props["incorporationDate"] = [customer.incorporation_date.isoformat()]
        if numbers:
            props["registrationNumber"] = numbers
    return {
        "id": _id(organisation, f"customer/{customer.pk}"),
        "schema": schema,
        "properties": props,
    }


def _link(organisation: Organisation, link: Link) -> dict[str, Any]:
    subject = _id(organisation, f"customer/{link.subject_id}")
    party = _id(organisation, f"customer/{link.party_id}")
    props: dict[str, list[str]]
    if link.role in (Role.SHAREHOLDER, Role.UBO):
        schema = "Ownership"
        props = {"owner": [party], "asset": [subject]}
        if link.role == Role.UBO:
            props["role"] = ["Ultimate beneficial owner (declared)"]
        elif link.indirect:
            props["role"] = ["Indirect shareholder (derived UBO)"]
            props["ownershipType"] = ["indirect"]
        else:
            props["role"] = ["Shareholder"]
        if link.percentage is not None:
            props["percentage"] = [format_percentage(link.percentage)]
    elif link.role == Role.DIRECTOR:
        schema = "Directorship"
        props = {"director": [party], "organization": [subject], "role": ["Director"]}
    else:
        schema = "Representation"
        props = {"agent": [party], "client": [subject], "role": ["Authorised person"]}
    if link.details:
        props["summary"] = [link.details]
    if link.valid_from:
        props["startDate"] = [link.valid_from.isoformat()]
    if link.valid_to:
        props["endDate"] = [link.valid_to.isoformat()]
    return {"id": _id(organisation, link.key), "schema": schema, "properties": props}


def ftm_entities(
    structure: OwnershipStructure, *, organisation: Organisation
) -> list[dict[str, Any]]:
    network = export_network(structure)
    parties = [
        _party(organisation, c) for c in sorted(network.customers.values(), key=lambda c: c.pk)
    ]
    return parties + [_link(organisation, link) for link in network.links]
