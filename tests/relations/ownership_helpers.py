"""Builders for ownership tests: one organisation, named customers, shareholdings."""

from datetime import date
from decimal import Decimal

from customers.models import Customer
from organisations.models import Organisation
from relations.models import Connection, Role
from tests.factories import CompanyFactory, ConnectionFactory, PersonFactory


def company(org: Organisation, ref: str, name: str | None = None, **kw: object) -> Customer:
    return CompanyFactory(
        organisation=org, reference_id=ref, legal_name=name or ref, name=name or ref, **kw
    )


def person(org: Organisation, ref: str, name: str | None = None, **kw: object) -> Customer:
    return PersonFactory(organisation=org, reference_id=ref, name=name or ref, **kw)


def owns(
    holder: Customer,
    owned: Customer,
    percentage: str | int,
    *,
    valid_from: date | None = None,
    valid_to: date | None = None,
) -> Connection:
    return ConnectionFactory(
        customer=owned,
        connected_customer=holder,
        role=Role.SHAREHOLDER,
        ownership_percentage=Decimal(str(percentage)),
        valid_from=valid_from,
        valid_to=valid_to,
    )


def role(holder: Customer, company: Customer, role: str, **kw: object) -> Connection:
    return ConnectionFactory(customer=company, connected_customer=holder, role=role, **kw)
