"""BODS 0.4 and FollowTheMoney exports of the ownership structure."""

import json
from datetime import date
from pathlib import Path

import pytest
from followthemoney import model
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from relations.models import Role
from tests.relations.ownership_helpers import company, owns, person, role

pytestmark = pytest.mark.django_db

BODS_DIR = Path(__file__).resolve().parents[3] / "shared" / "standards" / "bods-0.4"
if not BODS_DIR.exists():  # the standards live beside the repository
    BODS_DIR = Path("/work/shared/standards/bods-0.4")


def bods_validator() -> Draft202012Validator:
    resources = []
    for name in (
        "statement",
        "components",
        "entity-record",
        "person-record",
        "relationship-record",
    ):
        schema = json.loads((BODS_DIR / f"{name}.json").read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    registry = Registry().with_resources(resources)
    statement = json.loads((BODS_DIR / "statement.json").read_text())
    return Draft202012Validator(statement, registry=registry, format_checker=FormatChecker())


@pytest.fixture
def target(org):
    target = company(
        org,
        "T",
        "Target Ltd",
        country="GB",
        incorporation_date=date(2010, 5, 1),
        identifications=[{"type": "company_number", "identificationNumber": "01234567"}],
        address={
            "country": "GB",
            "city": "London",
            "street": "High St",
            "houseNumber": "1",
            "postalCode": "N1 1AA",
        },
    )
    hold = company(org, "H", "HoldCo Ltd", country="DE")
    jane = person(
        org,
        "JANE",
        "Jane Doe",
        given_name="Jane",
        family_name="Doe",
        birth_date=date(1980, 2, 3),
        country="FR",
        identifications=[
            {"type": "passport", "identificationNumber": "P123", "issuingCountry": "FR"}
        ],
    )
    owns(hold, target, 60, valid_from=date(2020, 1, 1))
    owns(jane, hold, 50)
    owns(jane, target, 10)
    role(person(org, "DIR", "Dee Rector"), target, Role.DIRECTOR)
    role(person(org, "REP", "Rep Resent"), target, Role.AUTHORIZED_PERSON)
    role(person(org, "DECL", "Dec Lared"), target, Role.UBO)
    return target


def test_bods_validates_against_the_0_4_schema(api, target):
    response = api.get("/api/v1/customers/T/organization/bods", {"asOf": "2026-01-15"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    statements = response.json()
    assert isinstance(statements, list)
    errors = sorted(bods_validator().iter_errors(statements), key=str)
    assert errors == []

    by_type: dict[str, list] = {}
    for statement in statements:
        by_type.setdefault(statement["recordType"], []).append(statement)
    assert len(by_type["entity"]) == 2
    assert len(by_type["person"]) == 4
    # Entities and persons come before the relationships that name them.
    first_relationship = next(
        i for i, s in enumerate(statements) if s["recordType"] == "relationship"
    )
    assert all(s["recordType"] != "relationship" for s in statements[:first_relationship])
    records = {s["recordId"] for s in statements}
    for rel in by_type["relationship"]:
        assert rel["recordDetails"]["subject"] in records
        assert rel["recordDetails"]["interestedParty"] in records

    interests = [
        (s["recordDetails"]["interests"][0], s["recordDetails"]["interestedParty"])
        for s in by_type["relationship"]
    ]
    jane_id = next(
        s["recordId"]
        for s in by_type["person"]
        if s["recordDetails"]["names"][0]["fullName"] == "Jane Doe"
    )
    jane_interests = sorted(
        (i["directOrIndirect"], i["share"]["exact"], i["beneficialOwnershipOrControl"])
        for i, party in interests
        if party == jane_id
    )
    # 10% direct, and 30% through HoldCo: 40% in total makes her a beneficial owner.
    assert jane_interests == [("direct", 10, True), ("direct", 50, False), ("indirect", 30, True)]
    types = sorted(i["type"] for i, _ in interests)
    assert types == [
        "boardMember",
        "otherInfluenceOrControl",
        "shareholding",
        "shareholding",
        "shareholding",
        "shareholding",
        "unknownInterest",
    ]
    entity = next(s for s in by_type["entity"] if s["recordDetails"]["name"] == "Target Ltd")
    assert entity["recordDetails"]["jurisdiction"] == {"name": "United Kingdom", "code": "GB"}
    assert entity["recordDetails"]["foundingDate"] == "2010-05-01"


def test_bods_statement_ids_are_stable(api, target):
    first = api.get("/api/v1/customers/T/organization/bods", {"asOf": "2026-01-15"}).json()
    second = api.get("/api/v1/customers/T/organization/bods", {"asOf": "2026-01-15"}).json()
    assert [s["statementId"] for s in first] == [s["statementId"] for s in second]
    assert len({s["statementId"] for s in first}) == len(first)
    target.name = target.legal_name = "Renamed Ltd"
    target.save()
    third = api.get("/api/v1/customers/T/organization/bods", {"asOf": "2026-01-15"}).json()
    assert third[0]["recordId"] == first[0]["recordId"]
    assert third[0]["statementId"] != first[0]["statementId"]


def test_ftm_entities_load_with_followthemoney(api, target):
    response = api.get("/api/v1/customers/T/organization/ftm", {"asOf": "2026-01-15"})
    assert response.status_code == 200
    assert response.json()["message"] == "Organization entities fetched successfully"
    entities = response.json()["data"]
    proxies = [model.get_proxy(entity, cleaned=False) for entity in entities]
    for entity, proxy in zip(entities, proxies, strict=True):
        # Every property exists in the schema and survives FtM's own cleaning.
        for prop, values in entity["properties"].items():
            assert proxy.schema.get(prop) is not None, (entity["schema"], prop)
            cleaned = model.get_proxy(entity, cleaned=False).to_dict()["properties"][prop]
            assert cleaned == values
        strict = model.get_proxy({**entity, "properties": entity["properties"]})
        assert strict.to_dict()["properties"] == entity["properties"]
    ids = {p.id for p in proxies}
    by_schema: dict[str, list] = {}
    for proxy in proxies:
        by_schema.setdefault(proxy.schema.name, []).append(proxy)
    assert sorted(by_schema) == ["Company", "Directorship", "Ownership", "Person", "Representation"]
    assert len(by_schema["Company"]) == 2
    assert len(by_schema["Person"]) == 4
    for ownership in by_schema["Ownership"]:
        assert set(ownership.get("owner")) <= ids
        assert set(ownership.get("asset")) <= ids
    jane = next(p for p in by_schema["Person"] if p.first("name") == "Jane Doe")
    assert jane.get("birthDate") == ["1980-02-03"]
    assert jane.get("nationality") == ["fr"]
    indirect = [o for o in by_schema["Ownership"] if o.get("ownershipType") == ["indirect"]]
    assert [(o.first("owner"), o.first("percentage")) for o in indirect] == [(jane.id, "30")]
    (directorship,) = by_schema["Directorship"]
    (representation,) = by_schema["Representation"]
    assert directorship.first("organization") == representation.first("client")


def test_ftm_ids_are_stable(api, target):
    first = api.get("/api/v1/customers/T/organization/ftm").json()["data"]
    second = api.get("/api/v1/customers/T/organization/ftm").json()["data"]
    assert [e["id"] for e in first] == [e["id"] for e in second]
