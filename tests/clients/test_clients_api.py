"""Seed 004's /clients API: the seed's examples verbatim, checked field by field.

The stored copy of the seed hides its e-mail addresses; the examples use a real one."""

import copy
import uuid

import pytest

from clients.models import ClientRelation, PortalUser
from customers.models import Customer
from relations.models import Connection

pytestmark = pytest.mark.django_db

# The seed's own e-mail addresses are hidden in its stored copy.
EMAIL = "client" + "@" + "example.com"
ADDRESS = {
    "country": "GB",
    "region": "England",
    "city": "London",
    "street": "Baker Street",
    "houseNumber": "221B",
    "postalCode": "XYZ ABC",
    "refinement": "",
}
CANAY_IDENTITY = {
    "type": "individual",
    "givenName": "Canay",
    "familyName": "Özel",
    "birthDate": "1987-01-01",
    "country": "TR",
    "identifications": [
        {
            "type": "identity-card",
            "identificationNumber": "12345678",
            "issuingCountry": "TR",
            "issueDate": "2022-01-01",
            "expirationDate": "2023-01-01",
        }
    ],
}
CANAY_PROFILE = {
    "identityType": "individual",
    "residentialAddress": ADDRESS,
    "phone": "+441234567890",
    "email": EMAIL,
}
INDIVIDUAL = {
    "workflow": {"code": "direct"},
    "data": {"client": {"identity": CANAY_IDENTITY, "profile": CANAY_PROFILE}},
    "connect": {},
    "metadata": {},
}
JOHN_DOE = {
    "relation": "director",
    "identity": {
        "type": "individual",
        "givenName": "John",
        "familyName": "Doe",
        "birthDate": "2000-01-01",
        "country": "GB",
    },
    "profile": {
        "identityType": "individual",
        "residentialAddress": ADDRESS,
        "phone": "+441234567890",
        "email": EMAIL,
    },
}
CORPORATE = {
    "workflow": {"code": "direct"},
    "data": {
        "client": {
            "identity": {
                "type": "corporate",
                "legalName": "I.F Technology Ltd",
                "incorporationDate": "1987-01-01",
                "country": "GB",
            },
            "profile": {
                "identityType": "corporate",
                "registrationAddress": ADDRESS,
                "phone": "+441234567890",
            },
            "relations": [JOHN_DOE],
        }
    },
    "connect": {},
    "metadata": {},
}


def body(**changes):
    result = copy.deepcopy(INDIVIDUAL)
    result["data"]["client"].update(changes)
    return result


def assert_uuid(value):
    assert str(uuid.UUID(value)) == value


def test_seed_individual_direct(api):
    response = api.post("/api/v1/clients", INDIVIDUAL, format="json")
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert set(answer) == {"workflow", "data", "connect", "metadata"}
    assert answer["workflow"] == {"code": "direct"}
    assert answer["connect"] == {} and answer["metadata"] == {}
    client = answer["data"]["client"]
    customer = Customer.objects.get(public_id=client["id"])
    assert client["clientNumber"] == customer.client_number and len(client["clientNumber"]) == 8
    assert client["status"] == "active"
    assert client["identity"] == CANAY_IDENTITY
    assert client["profile"] == CANAY_PROFILE
    assert client["fullName"] == "Canay Özel"
    assert customer.organisation == api.organisation
    assert customer.reference_id == client["id"]


def test_seed_corporate_direct_with_relations(api):
    response = api.post("/api/v1/clients", CORPORATE, format="json")
    assert response.status_code == 201, response.json()
    client = response.json()["data"]["client"]
    assert client["identity"] == CORPORATE["data"]["client"]["identity"]
    assert client["profile"] == CORPORATE["data"]["client"]["profile"] | {}
    assert client["profile"]["registrationAddress"] == ADDRESS
    assert client["fullName"] == "I.F Technology Ltd"
    [relation] = client["relations"]
    assert relation["clientId"] == client["id"]
    assert relation["relation"] == "director"
    assert relation["identity"] == JOHN_DOE["identity"]
    assert relation["profile"] == JOHN_DOE["profile"]
    assert relation["fullName"] == "John Doe"
    company = Customer.objects.get(public_id=client["id"])
    [connection] = Connection.objects.filter(customer=company)
    assert connection.role == "DIRECTOR"
    assert connection.connected_customer.given_name == "John"
    assert (
        ClientRelation.objects.get(public_id=relation["id"]).person == connection.connected_customer
    )


def test_seed_create_user(api):
    request = copy.deepcopy(INDIVIDUAL)
    request["workflow"]["createUser"] = True
    response = api.post("/api/v1/clients", request, format="json")
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["workflow"] == {"code": "direct", "createUser": True}
    data = answer["data"]
    user = PortalUser.objects.get()
    assert data["user"] == {
        "id": str(user.public_id),
        "email": EMAIL,
        "identity": CANAY_IDENTITY,
        "category": "external",
        "type": "human",
    }
    assert data["userClientRelation"] == {
        "id": str(user.relation_id),
        "userId": str(user.public_id),
        "clientId": data["client"]["id"],
        "status": "allowed",
    }
    assert data["client"]["fullName"] == "Canay Özel"
    assert user.active and user.customer.public_id == uuid.UUID(data["client"]["id"])


def test_create_user_needs_an_email(api):
    request = body(profile={k: v for k, v in CANAY_PROFILE.items() if k != "email"})
    request["workflow"]["createUser"] = True
    response = api.post("/api/v1/clients", request, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == (
        "data.client.profile.email: This field is required when workflow.createUser is true."
    )
    assert not Customer.objects.exists() and not PortalUser.objects.exists()


def test_create_user_is_for_individuals_only(api):
    request = copy.deepcopy(CORPORATE)
    request["workflow"]["createUser"] = True
    response = api.post("/api/v1/clients", request, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "workflow.createUser: Only individual clients get a user."
    assert not Customer.objects.exists()


def test_address_key_rules(api):
    missing = api.post(
        "/api/v1/clients", body(profile={"identityType": "individual"}), format="json"
    )
    assert missing.status_code == 400
    assert missing.json()["message"] == (
        "data.client.profile.residentialAddress: This field is required: the address of an "
        "individual client is residentialAddress."
    )
    wrong = api.post(
        "/api/v1/clients", body(profile={"registrationAddress": ADDRESS}), format="json"
    )
    assert wrong.status_code == 400
    assert wrong.json()["message"] == (
        "data.client.profile.registrationAddress: registrationAddress is for corporates: "
        "individuals use residentialAddress."
    )
    corporate = copy.deepcopy(CORPORATE)
    corporate["data"]["client"]["profile"] = {"residentialAddress": ADDRESS}
    response = api.post("/api/v1/clients", corporate, format="json")
    assert response.json()["message"] == (
        "data.client.profile.residentialAddress: residentialAddress is for individuals: "
        "corporates use registrationAddress."
    )
    assert not Customer.objects.exists()


def test_at_most_ten_relations_on_creation(api):
    request = copy.deepcopy(CORPORATE)
    request["data"]["client"]["relations"] = [JOHN_DOE] * 11
    response = api.post("/api/v1/clients", request, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == (
        "data.client.relations: At most 10 relations in one request (got 11); add more with "
        "further requests to /clients/{id}/relations."
    )
    request["data"]["client"]["relations"] = [JOHN_DOE] * 10
    assert api.post("/api/v1/clients", request, format="json").status_code == 201
    assert ClientRelation.objects.count() == 10


def test_relations_only_for_corporates_and_only_individuals(api):
    response = api.post("/api/v1/clients", body(relations=[JOHN_DOE]), format="json")
    assert response.status_code == 400
    assert response.json()["message"] == (
        "data.client.relations: Only corporate clients have relations."
    )
    request = copy.deepcopy(CORPORATE)
    request["data"]["client"]["relations"][0]["identity"] = {"type": "corporate", "legalName": "X"}
    response = api.post("/api/v1/clients", request, format="json")
    assert response.json()["message"] == (
        "data.client.relations[0].identity.type: Related parties are individuals: use 'individual'."
    )
    assert not Customer.objects.exists()


def test_unknown_workflow(api):
    response = api.post("/api/v1/clients", {"workflow": {"code": "sumsub"}}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "message": "workflow.code: This field is required: 'direct' or 'migration'.",
        "error": "Bad Request",
        "statusCode": 400,
        "errors": {"workflow.code": ["This field is required: 'direct' or 'migration'."]},
    }


def _create(api, request=INDIVIDUAL):
    response = api.post("/api/v1/clients", request, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["data"]["client"]


def test_seed_patch_individual(api):
    client = _create(api)
    request = {
        "workflow": {"code": "direct"},
        "data": {
            "client": {
                "identity": {
                    "type": "individual",
                    "givenName": "Michael",
                    "familyName": "Johnson",
                    "birthDate": "1953-01-06",
                    "country": "GB",
                },
                "profile": {
                    "identityType": "individual",
                    "phone": "+4412345678",
                    "email": EMAIL,
                    "residentialAddress": {
                        "country": "GB",
                        "region": "England",
                        "city": "London",
                        "street": "Baker Street",
                        "houseNumber": "221B",
                        "postalCode": "EC1Y 1AA",
                    },
                },
            }
        },
        "connect": {},
        "metadata": {},
    }
    response = api.patch(f"/api/v1/clients/{client['id']}", request, format="json")
    assert response.status_code == 200, response.json()
    patched = response.json()["data"]["client"]
    assert patched["id"] == client["id"]
    assert patched["fullName"] == "Michael Johnson"
    # patch style: the identifications and the address's refinement were not sent, stay
    assert patched["identity"] == {
        **request["data"]["client"]["identity"],
        "identifications": CANAY_IDENTITY["identifications"],
    }
    assert patched["profile"]["residentialAddress"] == {**ADDRESS, "postalCode": "EC1Y 1AA"}
    assert patched["profile"]["phone"] == "+4412345678"


def test_seed_patch_corporate(api):
    client = _create(api, CORPORATE)
    request = {
        "workflow": {"code": "direct"},
        "data": {
            "client": {
                "identity": {
                    "type": "corporate",
                    "legalName": "I.F Technology Ltd",
                    "incorporationDate": "1987-01-01",
                    "country": "GB",
                    "corporationType": "ltd",
                },
                "profile": {
                    "identityType": "corporate",
                    "phone": "+441234567890",
                    "email": EMAIL,
                    "registrationAddress": {
                        "country": "GB",
                        "region": "England",
                        "city": "London",
                        "street": "City Road",
                        "houseNumber": "Epworth House 1",
                        "postalCode": "EC1Y 1AB",
                    },
                },
            }
        },
        "connect": {},
        "metadata": {},
    }
    response = api.patch(f"/api/v1/clients/{client['id']}", request, format="json")
    assert response.status_code == 200, response.json()
    patched = response.json()["data"]["client"]
    assert patched["identity"] == request["data"]["client"]["identity"]
    assert patched["profile"] == {
        **request["data"]["client"]["profile"],
        "registrationAddress": {
            **request["data"]["client"]["profile"]["registrationAddress"],
            "refinement": "",
        },
    }


def test_patch_cannot_change_the_type(api):
    client = _create(api)
    request = {"data": {"client": {"identity": {"type": "corporate", "legalName": "X"}}}}
    response = api.patch(f"/api/v1/clients/{client['id']}", request, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith(
        "data.client.identity.type: 'corporate' does not match accountTypeId 1"
    )


def test_seed_get_with_metadata(api):
    client = _create(api, CORPORATE)
    url = (
        f"/api/v1/clients/{client['id']}?metadata.includeProfile=true"
        "&metadata.include=data.client.profile.primaryAddress"
    )
    response = api.get(url)
    assert response.status_code == 200
    answer = response.json()
    assert answer["workflow"] == {} and answer["connect"] == {}
    assert answer["metadata"] == {"includeProfile": True, "includePrimaryAddress": True}
    assert answer["data"]["client"]["profile"] == {
        "identityType": "corporate",
        "registrationAddress": ADDRESS,
        "phone": "+441234567890",
    }
    plain = api.get(f"/api/v1/clients/{client['id']}").json()
    assert plain["metadata"] == {}
    assert plain["data"]["client"]["profile"] == {
        "identityType": "corporate",
        "phone": "+441234567890",
    }
    residential = api.get(
        f"/api/v1/clients/{client['id']}?metadata.include=data.client.profile.residentialAddress"
    ).json()
    assert "registrationAddress" not in residential["data"]["client"]["profile"]
    registration = api.get(
        f"/api/v1/clients/{client['id']}?metadata.include=data.client.profile.registrationAddress"
    ).json()
    assert registration["data"]["client"]["profile"]["registrationAddress"] == ADDRESS
    assert registration["metadata"] == {"includeRegistrationAddress": True}
    no_profile = api.get(f"/api/v1/clients/{client['id']}?metadata.includeProfile=false").json()
    assert "profile" not in no_profile["data"]["client"]
    bad = api.get(f"/api/v1/clients/{client['id']}?metadata.include=data.client.foo")
    assert bad.status_code == 400
    assert bad.json()["message"].startswith("metadata.include: Unknown key(s): data.client.foo.")


def test_seed_list_page_is_zero_based(api):
    corporate = _create(api, CORPORATE)  # and its related person
    individual = _create(api)
    response = api.get("/api/v1/clients?size=2")
    assert response.status_code == 200
    answer = response.json()
    assert answer["metadata"] == {
        "page": {"size": 2, "totalElements": 3, "totalPages": 2, "number": 0}
    }
    assert answer["data"]["clients"][0]["id"] == individual["id"]
    assert answer["data"]["clients"][0]["profile"] == {
        "identityType": "individual",
        "phone": "+441234567890",
        "email": EMAIL,
    }
    second = api.get("/api/v1/clients?size=2&page=1").json()
    assert second["metadata"]["page"]["number"] == 1
    assert [c["id"] for c in second["data"]["clients"]] == [corporate["id"]]
    assert api.get("/api/v1/clients?page=-1").status_code == 400
    # Past the end, however far (an OFFSET beyond 64 bits too): no clients, the page echoed.
    for number in (1, 2**61 + 1):
        beyond = api.get(f"/api/v1/clients?size=20&page={number}")
        assert beyond.status_code == 200
        assert beyond.json()["data"]["clients"] == []
        assert beyond.json()["metadata"]["page"] == {
            "size": 20,
            "totalElements": 3,
            "totalPages": 1,
            "number": number,
        }


def test_unknown_client_is_404(api):
    for client_id in ("not-a-uuid", str(uuid.uuid4())):
        response = api.get(f"/api/v1/clients/{client_id}")
        assert response.status_code == 404
        assert response.json()["message"] == "Client not found"
