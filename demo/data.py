"""Demo data for the quick start (`manage.py seed_demo`): a bank's customers with
multi-level ownership, written through the same services as the API, so the history
shows how they came to be.

Structure (holder →%→ company):
  Adewale Adebayo →70%→ Adebayo Holdings →60%→ Lagos Fintech Group →100%→ Lagos Payments
      →80%→ Lagos Payments Kenya  (four levels; Adewale is a derived UBO of each)
  Chioma Adebayo →30%→ Adebayo Holdings;  Nordic Ventures →25%→ Lagos Fintech Group
  Erik Lindqvist →55%→ Nordic Ventures ←45%← Ingrid Sørensen
  Atlantic Trading →30%→ Meridian Capital →40%→ Atlantic Trading  (a cross-holding)
plus directors, authorised persons, declared UBOs, a bank account and its holder.

A small made-up watchlist ("Demo sanctions") names the director Ibrahim Musa (in Arabic
script, with his birth date) and a company, so the review queue has hits to show.
"""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.models import Customer, CustomerFieldDefinition
from customers.services import customer_upsert, field_definition_create
from customers.text import fold
from kyc.models import Session
from kyc.rules import DEFAULT_RULES, clean_rules
from kyc.selectors import risk_rules_current
from kyc.services import rescoring_run, risk_rules_replace, session_create
from onboarding.services import customer_approve
from organisations.models import Organisation
from relations.services import connections_replace
from relations.validation import parse_connects
from screening.services import customer_screen, watchlist_import_run, watchlist_upload

FIELD_DEFINITIONS: list[dict[str, Any]] = [
    {"key": "bvn", "name": "Bank Verification Number", "type": "text"},
    {"key": "pep", "name": "Politically exposed person", "type": "boolean"},
    {
        "key": "segment",
        "name": "Segment",
        "type": "choice",
        "choices": ["retail", "private banking", "sme", "corporate"],
    },
    {"key": "annualTurnover", "name": "Annual turnover (USD)", "type": "number"},
    {"key": "onboardedBranch", "name": "Onboarding branch", "type": "text"},
]


def _person(
    ref: str,
    given: str,
    family: str,
    birth: str,
    country: str,
    city: str,
    phone: str,
    passport: str,
    **custom: Any,
) -> dict[str, Any]:
    return {
        "referenceId": ref,
        "name": f"{given} {family}",
        "accountTypeId": 1,
        "identity": {
            "givenName": given,
            "familyName": family,
            "birthDate": birth,
            "country": country,
            "identifications": [
                {
                    "type": "passport",
                    "identificationNumber": passport,
                    "issuingCountry": country,
                    "issueDate": "2021-03-15",
                    "expirationDate": "2031-03-14",
                }
            ],
        },
        "profile": {
            "residentialAddress": {"country": country, "city": city, "street": "Main Street"},
            "phone": phone,
            "email": fold(f"{given}.{family}").replace("ø", "o") + "@example.com",
        },
        **custom,
    }


def _company(
    ref: str,
    legal: str,
    incorporated: str,
    corporation_type: str,
    country: str,
    city: str,
    registration: str,
    region: str | None = None,
    **custom: Any,
) -> dict[str, Any]:
    address = {"country": country, "city": city, "street": "Marina Road", "houseNumber": "12"}
    if region:
        address["region"] = region
    return {
        "referenceId": ref,
        "name": legal,
        "accountTypeId": 2,
        "identity": {
            "legalName": legal,
            "incorporationDate": incorporated,
            "corporationType": corporation_type,
            "country": country,
            "identifications": [
                {
                    "type": "company_registration",
                    "identificationNumber": registration,
                    "issuingCountry": country,
                }
            ],
        },
        "profile": {"registrationAddress": address},
        **custom,
    }


PERSONS = [
    _person("PER-001", "Adewale", "Adebayo", "1968-04-12", "NG", "Lagos", "+2348031234501",
            "A08123401", bvn="22212345601", pep=False, segment="private banking"),
    _person("PER-002", "Chioma", "Adebayo", "1972-09-30", "NG", "Lagos", "+2348031234502",
            "A08123402", bvn="22212345602", pep=False, segment="private banking"),
    _person("PER-003", "Ngozi", "Okafor", "1980-01-22", "NG", "Abuja", "+2348031234503",
            "A08123403", bvn="22212345603", pep=True, segment="private banking"),
    _person("PER-004", "Oluwaseun", "Bankole", "1975-06-05", "NG", "Ibadan", "+2348031234504",
            "A08123404", bvn="22212345604", pep=False, segment="retail"),
    _person("PER-005", "Emeka", "Eze", "1983-11-18", "NG", "Enugu", "+2348031234505",
            "A08123405", bvn="22212345605", pep=False, segment="sme"),
    _person("PER-006", "Aisha", "Bello", "1990-02-14", "NG", "Kano", "+2348031234506",
            "A08123406", bvn="22212345606", pep=False, segment="retail"),
    _person("PER-007", "Wanjiru", "Kamau", "1986-07-09", "KE", "Nairobi", "+254712345607",
            "AK1234507", pep=False, segment="sme"),
    _person("PER-008", "Erik", "Lindqvist", "1965-03-03", "SE", "Stockholm", "+46701234508",
            "SE1234508", pep=False, segment="corporate"),
    _person("PER-009", "Ingrid", "Sørensen", "1970-12-24", "SE", "Gothenburg", "+46701234509",
            "SE1234509", pep=False, segment="corporate"),
    _person("PER-010", "María", "González", "1979-05-27", "MX", "Monterrey", "+528112345610",
            "G12345610", pep=False, segment="sme"),
    _person("PER-011", "Tunde", "Ogunleye", "1988-08-08", "NG", "Lagos", "+2348031234511",
            "A08123411", bvn="22212345611", pep=False, segment="retail"),
    _person("PER-012", "Fatima", "Diallo", "1984-04-01", "SN", "Dakar", "+221771234512",
            "SN1234512", pep=False, segment="sme"),
    _person("PER-013", "Kwame", "Mensah", "1977-10-10", "GH", "Accra", "+233241234513",
            "GH1234513", pep=True, segment="private banking"),
    _person("PER-014", "Zoë", "Hartmann", "1992-06-21", "DE", "Berlin", "+4915112345614",
            "C01234514", pep=False, segment="retail"),
    _person("PER-015", "Ibrahim", "Musa", "1969-09-09", "NG", "Abuja", "+2348031234515",
            "A08123415", bvn="22212345615", pep=False, segment="corporate"),
    _person("PER-016", "Amaka", "Nwosu", "1995-03-17", "NG", "Port Harcourt", "+2348031234516",
            "A08123416", bvn="22212345616", pep=False, segment="retail"),
    _person("PER-017", "James", "Whitfield", "1961-01-30", "GB", "London", "+447700900517",
            "GB1234517", pep=False, segment="corporate"),
    _person("PER-018", "Adaeze", "Obi", "1987-12-02", "NG", "Lagos", "+2348031234518",
            "A08123418", bvn="22212345618", pep=False, segment="retail"),
]  # fmt: skip

COMPANIES = [
    _company("COMP-001", "Adebayo Holdings Ltd", "2004-05-10", "private limited company", "NG",
             "Lagos", "RC-512001", segment="corporate", annualTurnover=12500000),
    _company("COMP-002", "Lagos Fintech Group plc", "2011-09-01", "public limited company",
             "NG", "Lagos", "RC-812002", segment="corporate", annualTurnover=88000000),
    _company("COMP-003", "Lagos Payments Ltd", "2015-02-17", "private limited company", "NG",
             "Lagos", "RC-1203003", segment="corporate", annualTurnover=41000000),
    _company("COMP-004", "Lagos Payments Kenya Ltd", "2019-07-23", "private limited company",
             "KE", "Nairobi", "PVT-KE2019004", segment="sme", annualTurnover=3900000),
    _company("COMP-005", "Nordic Ventures AB", "2008-11-11", "aktiebolag", "SE", "Stockholm",
             "556677-0005", segment="corporate", annualTurnover=21000000),
    _company("COMP-006", "Atlantic Trading Ltd", "2010-03-30", "private limited company", "NG",
             "Lagos", "RC-700006", segment="corporate", annualTurnover=9800000),
    _company("COMP-007", "Meridian Capital Ltd", "2012-08-14", "private limited company", "GH",
             "Accra", "CS-120007", segment="corporate", annualTurnover=15200000),
    _company("COMP-008", "Greenfield Agro Ltd", "2016-04-04", "private limited company", "NG",
             "Enugu", "RC-1400008", segment="sme", annualTurnover=2100000),
    _company("COMP-009", "Harbour Logistics S.A. de C.V.", "2014-06-19", "sociedad anónima",
             "MX", "Monterrey", "HLO140619009", region="MX-NLE", segment="sme",
             annualTurnover=5400000),
    _company("COMP-010", "Sahel Solar SARL", "2018-01-08", "SARL", "SN", "Dakar",
             "SN-DKR-2018-B-0010", segment="sme", annualTurnover=1300000),
    _company("COMP-011", "Thames Advisory LLP", "2009-10-01", "limited liability partnership",
             "GB", "London", "OC349011", segment="corporate", annualTurnover=6700000),
    _company("ACC-001", "Lagos Payments settlement account", "2015-03-01", "bank account",
             "NG", "Lagos", "0123456789", segment="corporate"),
]  # fmt: skip


def _sh(ref: str, percentage: str) -> dict[str, Any]:
    return {"referenceId": ref, "role": "SHAREHOLDER", "ownershipPercentage": percentage}


def _role(ref: str, role: str, **extra: Any) -> dict[str, Any]:
    return {"referenceId": ref, "role": role, **extra}


# customer referenceId → its full connects list (the holders of roles in it)
CONNECTIONS: dict[str, list[dict[str, Any]]] = {
    "COMP-001": [
        _sh("PER-001", "70"),
        _sh("PER-002", "30"),
        _role("PER-001", "DIRECTOR"),
        _role("PER-002", "AUTHORIZED_PERSON"),
        _role("PER-001", "UBO", ownershipPercentage="70"),
        _role("PER-002", "UBO", ownershipPercentage="30"),
    ],
    "COMP-002": [
        _sh("COMP-001", "60"),
        _sh("COMP-005", "25"),
        _sh("PER-011", "5"),
        _role("PER-015", "DIRECTOR"),
        _role("PER-017", "DIRECTOR", validFrom="2020-01-01"),
        _role("PER-006", "DIRECTOR", validFrom="2016-01-01", validTo="2021-12-31"),
        _role("PER-011", "AUTHORIZED_PERSON"),
        _role("PER-001", "UBO", ownershipPercentage="42"),
    ],
    "COMP-003": [
        _sh("COMP-002", "100"),
        _role("PER-015", "DIRECTOR"),
        _role("PER-018", "AUTHORIZED_PERSON"),
        _role("ACC-001", "BANK_ACCOUNT"),
    ],
    "COMP-004": [
        _sh("COMP-003", "80"),
        _sh("PER-007", "20"),
        _role("PER-007", "DIRECTOR"),
        _role("PER-007", "AUTHORIZED_PERSON"),
    ],
    "COMP-005": [
        _sh("PER-008", "55"),
        _sh("PER-009", "45"),
        _role("PER-008", "DIRECTOR"),
        _role("PER-009", "AUTHORIZED_PERSON"),
    ],
    "COMP-006": [
        _sh("COMP-007", "40"),
        _sh("PER-004", "60"),
        _role("PER-004", "DIRECTOR"),
        _role("PER-016", "AUTHORIZED_PERSON"),
    ],
    "COMP-007": [
        _sh("COMP-006", "30"),
        _sh("PER-003", "70"),
        _role("PER-013", "DIRECTOR"),
        _role("PER-003", "AUTHORIZED_PERSON"),
        _role("PER-003", "UBO", ownershipPercentage="70"),
    ],
    "COMP-008": [
        _sh("PER-005", "51"),
        _sh("PER-016", "19"),
        _role("PER-005", "DIRECTOR"),
        _role("PER-005", "AUTHORIZED_PERSON"),
    ],
    "COMP-009": [
        _sh("PER-010", "100"),
        _role("PER-010", "DIRECTOR"),
        _role("PER-010", "AUTHORIZED_PERSON"),
    ],
    "COMP-010": [
        _sh("PER-012", "35"),
        _role("PER-012", "DIRECTOR"),
    ],
    "COMP-011": [
        _sh("PER-017", "50"),
        _sh("PER-014", "50"),
        _role("PER-017", "AUTHORIZED_PERSON"),
    ],
    "ACC-001": [
        _role("PER-018", "ACCOUNT_HOLDER"),
        _role("COMP-003", "ACCOUNT_HOLDER"),
    ],
}

# Made up for the demo: FollowTheMoney JSON lines, one entity a line.
WATCHLIST_NAME = "Demo sanctions"
WATCHLIST = "\n".join(
    [
        '{"id": "demo-musa", "schema": "Person", "properties": {"name": ["إبراهيم موسى"], '
        '"alias": ["Ibrahim Moussa"], "birthDate": ["1969-09-09"], "nationality": ["ng"], '
        '"topics": ["sanction"]}}',
        '{"id": "demo-meridian", "schema": "Company", "properties": {"name": '
        '["Meridian Capital Partners Ltd"], "jurisdiction": ["cy"], "topics": ["crime"]}}',
        '{"id": "demo-volkov", "schema": "Person", "properties": {"name": ["Дмитрий Волков"], '
        '"birthDate": ["1958"], "topics": ["role.pep"]}}',
        '{"id": "demo-sanction", "schema": "Sanction", "properties": {"entity": ["demo-musa"]}}',
    ]
)
# Screened after loading: the director's companies and a company with a namesake.
SCREEN = ["COMP-002", "COMP-003", "COMP-007"]

# Approved after loading (persons always pass; companies only if KYB holds).
APPROVE = ["PER-001", "PER-002", "PER-008", "PER-009", "COMP-001", "COMP-003", "COMP-005"]


# The bank's risk rules: the shipped defaults, plus Nigeria (where most customers are)
# and two custom fields, so the demo shows every level and most factors.
RISK_RULES: dict[str, Any] = {
    **DEFAULT_RULES,
    "countries": {**DEFAULT_RULES["countries"], "NG": 15},
    "customFields": {"pep": {"true": 30}, "segment": {"private banking": 10}},
}
_UA_PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Mobile Safari/537.36"
_UA_DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0"
# referenceId → its sessions: (status, IP address, user agent)
SESSIONS: dict[str, list[tuple[str, str, str]]] = {
    "PER-001": [("approved", "102.89.32.10", _UA_PHONE)],
    "PER-002": [("approved", "102.89.32.11", _UA_PHONE)],
    "PER-003": [("declined", "41.58.10.3", _UA_DESKTOP), ("review", "41.58.10.3", _UA_DESKTOP)],
    "PER-004": [("approved", "102.89.32.14", _UA_PHONE)],
    "PER-005": [("in_progress", "102.89.32.15", _UA_PHONE)],
    "PER-006": [("declined", "197.210.1.6", _UA_PHONE), ("declined", "197.210.1.6", _UA_PHONE)],
    "PER-008": [("approved", "81.232.10.8", _UA_DESKTOP), ("approved", "81.232.10.8", _UA_PHONE)],
    "PER-009": [("approved", "81.232.10.9", _UA_DESKTOP)],
    "PER-013": [("review", "154.160.2.13", _UA_DESKTOP)],
    "PER-014": [("approved", "2a02:8108:1:2::14", _UA_DESKTOP)],
    "PER-017": [("expired", "51.140.0.17", _UA_DESKTOP), ("approved", "51.140.0.17", _UA_DESKTOP)],
    "COMP-001": [("approved", "102.89.40.1", _UA_DESKTOP)],
    "COMP-006": [("declined", "102.89.40.6", _UA_DESKTOP)],
    "COMP-011": [("approved", "51.140.0.111", _UA_DESKTOP)],
}


@dataclass
class DemoSummary:
    customers: int
    connections: int
    created: int
    approved: int
    sessions: int = 0
    levels: dict[str, int] | None = None


def _risk_rules(organisation: Organisation) -> None:
    """The demo rules, stored (and every customer rescored, here and now) only when
    they differ from the rules in force."""
    if risk_rules_current(organisation=organisation)["rules"] == clean_rules(RISK_RULES):
        return
    _stored, job = risk_rules_replace(organisation=organisation, data=RISK_RULES)
    rescoring_run(job_id=job.pk)  # no-op when the task backend ran it already


def _sessions(organisation: Organisation) -> int:
    """The demo sessions of customers that have none yet."""
    with_sessions = set(
        Session.objects.filter(organisation=organisation).values_list(
            "customer__reference_id", flat=True
        )
    )
    for ref, sessions in SESSIONS.items():
        if ref in with_sessions:
            continue
        for status, ip, agent in sessions:
            session_create(
                organisation=organisation,
                data={"customerId": ref, "status": status, "ipAddress": ip, "userAgent": agent},
            )
    return Session.objects.filter(organisation=organisation).count()


def load_demo(*, organisation: Organisation) -> DemoSummary:
    """Create or update the demo data in `organisation`. Safe to run again: customers
    are upserted by referenceId, connection lists are replaced (kept ones keep their
    ids), field definitions are created only when missing. The caller opens the
    audit context."""
    existing_keys = set(
        CustomerFieldDefinition.objects.for_organisation(organisation).values_list("key", flat=True)
    )
    for definition in FIELD_DEFINITIONS:
        if definition["key"] not in existing_keys:
            field_definition_create(organisation=organisation, data=definition)

    created = 0
    customers: dict[str, Customer] = {}
    for data in [*PERSONS, *COMPANIES]:
        result = customer_upsert(organisation=organisation, data=data)
        created += result.created
        customers[data["referenceId"]] = result.customer

    connections = 0
    for ref, connects in CONNECTIONS.items():
        saved = connections_replace(customer=customers[ref], items=parse_connects(connects))
        connections += len(saved)

    _risk_rules(organisation)
    approved = 0
    for ref in APPROVE:
        try:
            customer_approve(customer=customers[ref])
            approved += 1
        except ValidationError:
            pass  # a company that fails KYB stays pending: the demo shows why
    watchlist = watchlist_upload(
        organisation=organisation,
        name=WATCHLIST_NAME,
        file=SimpleUploadedFile("demo-sanctions.ftm.json", WATCHLIST.encode()),
    )
    watchlist_import_run(watchlist_id=watchlist.pk)  # no-op if the task ran already
    for ref in SCREEN:
        customer_screen(customer=customers[ref])
    sessions = _sessions(organisation)
    levels: dict[str, int] = {}
    for level in Customer.objects.for_organisation(organisation).values_list(
        "risk_level", flat=True
    ):
        levels[level or "unscored"] = levels.get(level or "unscored", 0) + 1
    return DemoSummary(
        customers=len(customers),
        connections=connections,
        created=created,
        approved=approved,
        sessions=sessions,
        levels=levels,
    )
