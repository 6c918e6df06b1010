"""Beneficial Ownership Data Standard 0.4 statements.

The answer is a BODS package: a bare JSON array, entity and person statements first,
then relationship statements (the order BODS requires). Record ids are stable
(`<organisation uuid>/customer/<id>`, `<organisation uuid>/shareholder/<subject>/<party>`);
a statement id is a UUID 5 of the record id, the as-of date and the record's content,
so the same structure exported twice gives the same statements, and a changed record
gets a new statement id.
"""

import json
import uuid
from datetime import date
from typing import Any

import pycountry
from django.utils import timezone

from customers.models import AccountType, Customer
from organisations.models import Organisation
from relations.exports import Link, export_network
from relations.models import Role
from relations.ownership import OwnershipStructure

BODS_VERSION = "0.4"
STATEMENT_NAMESPACE = uuid.UUID("6f1f4c1e-7b8a-4e0c-9f5e-2d1c3b4a5e6f")
INTEREST_TYPES = {
    Role.SHAREHOLDER: "shareholding",
    Role.UBO: "unknownInterest",
    Role.DIRECTOR: "boardMember",
    Role.AUTHORIZED_PERSON: "otherInfluenceOrControl",
}
ROLE_DETAILS = {Role.AUTHORIZED_PERSON: "Authorised person (representative)"}


def _country(code: str) -> dict[str, str] | None:
    if not code:
        return None
    found = pycountry.countries.get(alpha_2=code.upper())
    return {"name": found.name if found else code.upper(), "code": code.upper()}


def _identifiers(customer: Customer) -> list[dict[str, str]]:
    found = []
    for item in customer.identifications or []:
        if isinstance(item, dict) and item.get("identificationNumber"):
            found.append(
                {
                    "id": str(item["identificationNumber"]),
                    "schemeName": str(item.get("type") or "identification"),
                }
            )
    return found


def _address(customer: Customer, kind: str) -> list[dict[str, Any]]:
    address = customer.address or {}
    lines = [
        " ".join(str(address[k]) for k in ("street", "houseNumber") if address.get(k)),
        str(address.get("refinement") or ""),
        str(address.get("city") or ""),
        str(address.get("region") or ""),
    ]
    text = ", ".join(line for line in lines if line)
    if not text and not address.get("country"):
        return []
    result: dict[str, Any] = {"type": kind, "address": text}
    if address.get("postalCode"):
        result["postCode"] = str(address["postalCode"])
    country = _country(str(address.get("country") or ""))
    if country:
        result["country"] = country
    return [result]


def _entity_details(customer: Customer) -> dict[str, Any]:
    details: dict[str, Any] = {
        "isComponent": False,
        "entityType": {"type": "registeredEntity"},
        "name": customer.legal_name or customer.name,
    }
    if customer.name and customer.legal_name and customer.name != customer.legal_name:
        details["alternateNames"] = [customer.name]
    country = _country(customer.country)
    if country:
        details["jurisdiction"] = country
    if identifiers := _identifiers(customer):
        details["identifiers"] = identifiers
    if customer.incorporation_date:
        details["foundingDate"] = customer.incorporation_date.isoformat()
    if addresses := _address(customer, "registered"):
        details["addresses"] = addresses
    return details


def _person_details(customer: Customer) -> dict[str, Any]:
    name: dict[str, str] = {"type": "legal", "fullName": customer.name}
    if customer.given_name:
        name["givenName"] = customer.given_name
    if customer.family_name:
        name["familyName"] = customer.family_name
    details: dict[str, Any] = {
        "isComponent": False,
        "personType": "knownPerson",
        "names": [name],
    }
    if identifiers := _identifiers(customer):
        details["identifiers"] = identifiers
    country = _country(customer.country)
    if country:
        details["nationalities"] = [country]
    if customer.birth_date:
        details["birthDate"] = customer.birth_date.isoformat()
    if addresses := _address(customer, "residence"):
        details["addresses"] = addresses
    return details


def _interest(link: Link) -> dict[str, Any]:
    interest: dict[str, Any] = {
        "type": INTEREST_TYPES[Role(link.role)],
        "directOrIndirect": "indirect" if link.indirect else "direct",
        "beneficialOwnershipOrControl": link.beneficial,
    }
    details = link.details or ROLE_DETAILS.get(Role(link.role), "")
    if details:
        interest["details"] = details
    if link.percentage is not None:
        interest["share"] = {"exact": float(round(link.percentage, 4))}
    if link.valid_from:
        interest["startDate"] = link.valid_from.isoformat()
    if link.valid_to:
        interest["endDate"] = link.valid_to.isoformat()
    return interest


def bods_statements(
    structure: OwnershipStructure, *, organisation: Organisation
) -> list[dict[str, Any]]:
    network = export_network(structure)
    as_of: date = structure.as_of
    prefix = str(organisation.id)
    subject_record = f"{prefix}/customer/{structure.customer.id}"
    publication = {
        "publicationDate": timezone.localdate().isoformat(),
        "bodsVersion": BODS_VERSION,
        "publisher": {"name": organisation.name},
    }

    def statement(record_id: str, record_type: str, details: dict[str, Any]) -> dict[str, Any]:
        content = json.dumps(details, sort_keys=True)
        return {
            "statementId": str(
                uuid.uuid5(STATEMENT_NAMESPACE, f"{record_id}|{as_of.isoformat()}|{content}")
            ),
            "declarationSubject": subject_record,
            "statementDate": as_of.isoformat(),
            "recordId": record_id,
            "recordType": record_type,
            "recordStatus": "new",
            "recordDetails": details,
            "publicationDetails": publication,
            "source": {
                "type": ["selfDeclaration"],
                "description": f"Customer records of {organisation.name} in kycregistry",
            },
        }

    parties = [
        statement(
            f"{prefix}/customer/{customer.pk}",
            "person" if customer.account_type == AccountType.PERSON else "entity",
            _person_details(customer)
            if customer.account_type == AccountType.PERSON
            else _entity_details(customer),
        )
        for customer in sorted(network.customers.values(), key=lambda c: c.pk)
    ]
    relationships = [
        statement(
            f"{prefix}/{link.key}",
            "relationship",
            {
                "isComponent": False,
                "subject": f"{prefix}/customer/{link.subject_id}",
                "interestedParty": f"{prefix}/customer/{link.party_id}",
                "interests": [_interest(link)],
            },
        )
        for link in network.links
    ]
    return parties + relationships
