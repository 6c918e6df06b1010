"""A customer's ownership structure in open formats: BODS 0.4 and FollowTheMoney.

Both exports describe the same network, built once by `export_network`: the company,
every party of its direct connections (shareholders, declared UBOs, directors,
authorised persons), every shareholding on the paths of its derived UBOs, and one
indirect interest per derived UBO that holds through other companies.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from customers.models import Customer
from relations.models import Role
from relations.ownership import OwnershipStructure, format_percentage

EXPORTED_ROLES = (Role.SHAREHOLDER, Role.UBO, Role.DIRECTOR, Role.AUTHORIZED_PERSON)


@dataclass(frozen=True)
class Link:
    """`party_id` holds `role` in `subject_id` (a company)."""

    subject_id: int
    party_id: int
    role: str
    percentage: Decimal | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    indirect: bool = False
    beneficial: bool = False
    details: str = ""

    @property
    def key(self) -> str:
        kind = "indirect" if self.indirect else self.role.lower()
        return f"{kind}/{self.subject_id}/{self.party_id}"


@dataclass
class Network:
    structure: OwnershipStructure
    customers: dict[int, Customer]  # every party, in one query
    links: list[Link]


def export_network(structure: OwnershipStructure) -> Network:
    target = structure.customer.id
    derived = {ubo.party.id: ubo for ubo in structure.derived_ubos}
    links: dict[str, Link] = {}

    def add(link: Link) -> None:
        links.setdefault(link.key, link)

    for holding in [
        *structure.shareholders,
        *structure.declared_ubos,
        *structure.directors,
        *structure.authorized_persons,
    ]:
        is_bo = holding.role == Role.UBO or (
            holding.role == Role.SHAREHOLDER and holding.party.id in derived
        )
        add(
            Link(
                subject_id=target,
                party_id=holding.party.id,
                role=holding.role,
                percentage=holding.percentage,
                valid_from=holding.valid_from,
                valid_to=holding.valid_to,
                beneficial=is_bo,
                details="Declared ultimate beneficial owner" if holding.role == Role.UBO else "",
            )
        )
    for ubo in structure.derived_ubos:
        indirect = [path for path in ubo.paths if len(path.chain) > 2]
        for path in indirect:
            for index, owner in enumerate(path.chain[:-1]):
                add(
                    Link(
                        subject_id=path.chain[index + 1].id,
                        party_id=owner.id,
                        role=Role.SHAREHOLDER,
                        percentage=path.percentages[index],
                    )
                )
        if indirect:
            add(
                Link(
                    subject_id=target,
                    party_id=ubo.party.id,
                    role=Role.SHAREHOLDER,
                    percentage=sum((p.effective for p in indirect), Decimal(0)),
                    indirect=True,
                    beneficial=True,
                    details="Derived UBO, effective ownership "
                    f"{format_percentage(ubo.effective)}% in total: "
                    + "; ".join(p.text for p in ubo.paths),
                )
            )
    ids = {target} | {link.party_id for link in links.values()}
    ids |= {link.subject_id for link in links.values()}
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=ids)}
    return Network(structure=structure, customers=customers, links=list(links.values()))
