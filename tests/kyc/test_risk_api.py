"""GET/POST /customers/{referenceId}/risk-profile and GET/PUT /risk-rules."""

import pytest

from customers.models import Customer
from kyc.models import RescoringStatus, RiskRescoring, RiskRules
from kyc.rules import DEFAULT_RULES
from kyc.services import rescoring_run
from tests.factories import CompanyFactory, ConnectionFactory, PersonFactory

pytestmark = pytest.mark.django_db

RULES = "/api/v1/risk-rules"


def profile_url(ref: str) -> str:
    return f"/api/v1/customers/{ref}/risk-profile"


def put_rules(client, **rules):
    return client.put(RULES, {"bands": {"medium": 25, "high": 50}, **rules}, format="json")


def test_get_rules_shows_the_shipped_defaults(api):
    body = api.get(RULES).json()
    assert body["message"] == "Risk rules fetched successfully"
    assert body["data"] == {
        "version": 0,
        "isDefault": True,
        "updatedAt": None,
        "rules": DEFAULT_RULES,
        "rescoring": None,
    }


def test_put_rules_stores_a_version_and_rescores_every_customer_of_the_org(api, org, other_org):
    mine = [PersonFactory(organisation=org, country="FR") for _ in range(3)]
    theirs = PersonFactory(organisation=other_org, country="FR")
    response = put_rules(api, countries={"fr": 30}, accountTypes={"1": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Risk rules updated successfully"
    data = body["data"]
    assert (data["version"], data["isDefault"]) == (1, False)
    assert data["rules"]["countries"] == {"FR": 30}  # normalised
    assert data["rules"]["declinedSession"] == 0  # left out: off
    assert data["rescoring"] | {"startedAt": None, "finishedAt": None} == {
        "status": "completed",
        "processed": 3,
        "total": 3,
        "changedLevels": 0,  # never scored before: a first score is no change of level
        "rulesVersion": 1,
        "message": None,
        "startedAt": None,
        "finishedAt": None,
    }
    for customer in mine:
        customer.refresh_from_db()
        assert (customer.risk_score, customer.risk_level, customer.risk_rules_version) == (
            35,
            "Medium risk",
            1,
        )
    theirs.refresh_from_db()
    assert theirs.risk_score is None  # another organisation's book is untouched
    assert put_rules(api, countries={"FR": 60}).json()["data"]["version"] == 2
    assert put_rules(api).json()["data"]["rescoring"]["changedLevels"] == 3  # High → Low


def test_rescoring_progress_and_supersession(api, org):
    PersonFactory.create_batch(3, organisation=org)
    stored = RiskRules.objects.create(organisation=org, version=1, rules=DEFAULT_RULES)
    job = RiskRescoring.objects.create(organisation=org, rules_version=stored.version, total=3)
    assert api.get(RULES).json()["data"]["rescoring"]["status"] == "queued"
    rescoring_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed, job.total) == (RescoringStatus.COMPLETED, 3, 3)
    # A job whose rules were replaced meanwhile stops without writing.
    RiskRules.objects.create(organisation=org, version=2, rules=DEFAULT_RULES)
    old = RiskRescoring.objects.create(organisation=org, rules_version=1, total=3)
    rescoring_run(job_id=old.pk)
    old.refresh_from_db()
    assert (old.status, old.processed) == (RescoringStatus.SUPERSEDED, 0)
    rescoring_run(job_id=job.pk)  # already completed: nothing happens
    job.refresh_from_db()
    assert job.status == RescoringStatus.COMPLETED


@pytest.mark.parametrize(
    ("rules", "errors"),
    [
        ({"countries": {"XX": 10}}, {"countries": ["Unknown key 'XX'."]}),
        (
            {"countries": {"FR": 101}},
            {"countries": ["FR: Must be a whole number of points from 0 to 100."]},
        ),
        (
            {"declinedSession": float("nan")},
            None,  # NaN is refused by the JSON parser itself
        ),
        (
            {"declinedSession": 2.5},
            {"declinedSession": ["Must be a whole number of points from 0 to 100."]},
        ),
        (
            {"declinedSession": True},
            {"declinedSession": ["Must be a whole number of points from 0 to 100."]},
        ),
        ({"accountTypes": {"3": 10}}, {"accountTypes": ["Unknown key '3'."]}),
        (
            {"bands": {"medium": 60, "high": 50}},
            {
                "bands": [
                    'Must be {"medium": M, "high": H}: the lowest score of each level, '
                    "with 1 ≤ M < H ≤ 100."
                ]
            },
        ),
        (
            {"customFields": {"industry": {"crypto": -5}}},
            {"customFields": ["industry: crypto: Must be a whole number of points from 0 to 100."]},
        ),
        (
            {"screening": 5},
            {
                "rules": [
                    "Unknown rule key(s): screening. Known: countries, accountTypes, "
                    "declinedSession, declinedSessionMax, reviewSession, reviewSessionMax, "
                    "noApprovedSession, connectedHighRisk, missingOwnership, screeningHit, "
                    "screeningHitOpen, customFields, bands."
                ]
            },
        ),
    ],
)
def test_put_rules_validation(api, org, rules, errors):
    if errors is None:
        response = api.put(
            RULES,
            '{"bands": {"medium": 25, "high": 50}, "declinedSession": NaN}',
            content_type="application/json",
        )
        assert response.status_code == 400
    else:
        response = put_rules(api, **rules)
        assert response.status_code == 400
        assert response.json()["errors"] == errors
    assert not RiskRules.objects.exists()


def test_bands_are_required(api):
    response = api.put(RULES, {"countries": {}}, format="json")
    assert response.status_code == 400
    assert "bands" in response.json()["errors"]
    response = api.put(RULES, [1], format="json")
    assert response.json()["message"] == "The risk rules must be a JSON object."


def test_rules_tenancy_and_scopes(api, readonly_api, outsider_api, org):
    put_rules(api, accountTypes={"1": 7})
    assert outsider_api.get(RULES).json()["data"]["version"] == 0
    response = put_rules(readonly_api)
    assert response.status_code == 403
    assert response.json()["message"] == "This API key lacks the kyc:create scope."
    assert RiskRules.objects.filter(organisation=org).count() == 1


def test_risk_profile_get_and_recalculate(api, org, set_rules):
    set_rules(countries={"IR": 30}, accountTypes={"2": 10})
    company = CompanyFactory(organisation=org, reference_id="CO", country="IR")
    body = api.get(profile_url("CO")).json()
    assert body["message"] == "Risk profile fetched successfully"
    assert body["data"] == {
        "riskScore": None,
        "riskScoreName": None,
        "factors": [],
        "calculatedAt": None,
        "rulesVersion": None,
    }  # a factory row, never scored
    response = api.post(profile_url("CO"))
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Risk profile recalculated"
    data = body["data"]
    assert data["calculatedAt"].endswith("Z")
    assert data | {"calculatedAt": None} == {
        "riskScore": 40,
        "riskScoreName": "Medium risk",
        "factors": [
            {
                "code": "country",
                "description": "Country IR (Iran, Islamic Republic of)",
                "points": 30,
            },
            {"code": "account_type", "description": "Account type Company", "points": 10},
        ],
        "calculatedAt": None,
        "rulesVersion": 1,
    }
    assert sum(f["points"] for f in data["factors"]) == data["riskScore"]
    detail = api.get("/api/v1/customers/CO").json()["data"]
    assert (detail["riskScore"], detail["riskScoreName"]) == (40, "Medium risk")
    listed = api.get("/api/v1/customers", {"riskScoreName": "medium"}).json()["data"]
    assert [c["referenceId"] for c in listed] == ["CO"]
    assert company.pk


def test_risk_profile_tenancy_and_scopes(api, readonly_api, outsider_api, org):
    PersonFactory(organisation=org, reference_id="P")
    for method in ("get", "post"):
        response = getattr(outsider_api, method)(profile_url("P"))
        assert response.status_code == 404
        assert response.json()["message"] == "Customer not found"
    response = readonly_api.post(profile_url("P"))
    assert response.status_code == 403
    assert Customer.objects.get(reference_id="P").risk_score is None
    assert api.get(profile_url("NOPE")).status_code == 404


def test_risk_profile_reads_in_constant_queries(api, org, django_assert_num_queries):
    customers = [CompanyFactory(organisation=org) for _ in range(3)]
    for customer in customers:
        for _ in range(3):
            ConnectionFactory(customer=customer, connected_customer=PersonFactory(organisation=org))
        api.post(profile_url(customer.reference_id))
    for customer in customers:
        with django_assert_num_queries(2):  # the key, the customer
            assert api.get(profile_url(customer.reference_id)).status_code == 200


def test_connection_change_rescores_both_ends(api, org, set_rules):
    set_rules(connectedHighRisk=25, countries={"IR": 50}, missingOwnership=10)
    company = {"legalName": "Co", "country": "IR"}
    api.post(
        "/api/v1/customers",
        {"referenceId": "CO", "name": "Co", "accountTypeId": 2, "identity": company},
        format="json",
    )
    holder = {"givenName": "Hal", "familyName": "H", "country": "FR"}
    api.post(
        "/api/v1/customers",
        {"referenceId": "HAL", "name": "Hal", "accountTypeId": 1, "identity": holder},
        format="json",
    )
    assert api.get(profile_url("CO")).json()["data"]["riskScore"] == 60  # IR + no shareholder
    assert api.get(profile_url("HAL")).json()["data"]["riskScore"] == 0
    response = api.post(
        "/api/v1/customers/CO/connections",
        {"referenceId": "HAL", "role": "SHAREHOLDER", "ownershipPercentage": 60},
        format="json",
    )
    assert response.status_code == 201, response.json()
    # The company: its ownership is now recorded.
    assert [f["code"] for f in api.get(profile_url("CO")).json()["data"]["factors"]] == ["country"]
    # The holder: now connected to a High risk party.
    assert api.get(profile_url("HAL")).json()["data"]["factors"] == [
        {
            "code": "connected_high_risk",
            "description": "Connected to a High risk party: Co (CO)",
            "points": 25,
        }
    ]
    connection = api.get("/api/v1/customers/CO/connections").json()["data"][0]["id"]
    assert api.delete(f"/api/v1/customers/CO/connections/{connection}").status_code == 200
    assert api.get(profile_url("HAL")).json()["data"]["riskScore"] == 0
    assert api.get(profile_url("CO")).json()["data"]["riskScore"] == 60


def test_a_customer_write_answers_with_its_new_score(api, set_rules):
    set_rules(countries={"IR": 60}, connectedHighRisk=0)
    body = {"referenceId": "P1", "name": "Pat", "accountTypeId": 1}
    created = api.post("/api/v1/customers", body, format="json").json()["data"]
    assert (created["riskScore"], created["riskScoreName"]) == (0, "Low risk")
    identity = {"givenName": "Pat", "familyName": "Doe", "country": "IR"}
    patched = api.patch("/api/v1/customers/P1", {"identity": identity}, format="json")
    assert (patched.json()["data"]["riskScore"], patched.json()["data"]["riskScoreName"]) == (
        60,
        "High risk",
    )
