"""Hostile identifiers and text through every entrance: the API's create, PATCH and
inline connects customer, custom field definitions, and an Excel cell. Look-alike
identifiers are one customer or refused with a message that names the character;
control characters in text are refused with the field named; nothing is stored."""

import io
from urllib.parse import quote

import pytest
from django.urls import get_resolver
from django.urls.resolvers import URLPattern, URLResolver
from python_calamine import CalamineWorkbook

from customers.models import Customer, CustomerFieldDefinition
from customers.validation import RESERVED_REFERENCE_IDS
from relations.models import Connection
from tests.factories import FieldDefinitionFactory, PersonFactory
from tests.imports.test_api import errors_of, upload

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers"
FIELDS_URL = "/api/v1/customer-fields"


def invisible(code: str) -> str:
    return f"Must not contain the invisible or control character {code}."


def control(code: str) -> str:
    return f"Must not contain the control character {code}."


RESERVED = "is reserved: /customers/{0} is another path of the API."

# (referenceId as sent, the message of its refusal)
REFUSED_REFERENCES = [
    pytest.param("CAF\u200bÉ-1", invisible("U+200B"), id="zero-width-space"),
    pytest.param("CAF\u200dÉ-1", invisible("U+200D"), id="zero-width-joiner"),
    pytest.param("CAF\u200cÉ-1", invisible("U+200C"), id="zero-width-non-joiner"),
    pytest.param("\u2060CAFÉ-1", invisible("U+2060"), id="word-joiner"),
    pytest.param("\ufeffCAFÉ-1", invisible("U+FEFF"), id="bom"),
    pytest.param("CAF\u00adÉ-1", invisible("U+00AD"), id="soft-hyphen"),
    pytest.param("\u202eCAFÉ-1", invisible("U+202E"), id="right-to-left-override"),
    pytest.param("CAFÉ\u202a-1", invisible("U+202A"), id="left-to-right-embedding"),
    pytest.param("CAFÉ-1\u2066", invisible("U+2066"), id="left-to-right-isolate"),
    pytest.param("CAFÉ\u2069-1", invisible("U+2069"), id="pop-directional-isolate"),
    pytest.param("CAFÉ\u200e-1", invisible("U+200E"), id="left-to-right-mark"),
    pytest.param("CAFÉ\u200f-1", invisible("U+200F"), id="right-to-left-mark"),
    pytest.param("CAFÉ\u061c-1", invisible("U+061C"), id="arabic-letter-mark"),
    pytest.param("CAF\u3164É-1", invisible("U+3164"), id="hangul-filler"),
    pytest.param("CAF\u0007É-1", invisible("U+0007"), id="bell"),
    pytest.param("CAF\u001bÉ-1", invisible("U+001B"), id="escape"),
    pytest.param("CAF\u0085É-1", invisible("U+0085"), id="c1-next-line"),
    pytest.param("CAF\u009bÉ-1", invisible("U+009B"), id="c1-csi"),
    pytest.param("CAF\u2028É-1", invisible("U+2028"), id="line-separator"),
    pytest.param("CAF\ue000É-1", invisible("U+E000"), id="private-use"),
    pytest.param("A／B", "Must not contain '/'.", id="fullwidth-solidus"),
    pytest.param("bulk-upload", "'bulk-upload' " + RESERVED.format("bulk-upload"), id="bulk"),
    pytest.param(
        "download-template",
        "'download-template' " + RESERVED.format("download-template"),
        id="template",
    ),
    pytest.param(
        "ｂｕｌｋ－ｕｐｌｏａｄ",
        "'bulk-upload' " + RESERVED.format("bulk-upload"),
        id="fullwidth-bulk-upload",
    ),
    pytest.param(
        "..", "'..' is reserved: clients resolve it as a relative path segment.", id="dot-dot"
    ),
]

# Spellings that look like CAFÉ-1 and are CAFÉ-1.
LOOK_ALIKES = [
    pytest.param("CAFE\u0301-1", id="nfd"),
    pytest.param("ＣＡＦÉ-1", id="fullwidth"),
    pytest.param("ＣＡＦＥ\u0301－１", id="fullwidth-nfd"),
    pytest.param("\u00a0CAFÉ-1\u3000", id="no-break-and-ideographic-spaces"),
]


def person(reference, **extra):  # type: ignore[no-untyped-def]
    return {"referenceId": reference, "name": "Jane Doe", "accountTypeId": 1, **extra}


# -- referenceId ----------------------------------------------------------------------


@pytest.mark.parametrize(("reference", "message"), REFUSED_REFERENCES)
def test_post_refuses_the_reference(api, reference, message):
    response = api.post(URL, person(reference), format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"referenceId": [message]}
    assert response.json()["message"] == f"referenceId: {message}"
    assert not Customer.objects.exists()


@pytest.mark.parametrize(("reference", "message"), REFUSED_REFERENCES)
def test_patch_refuses_the_reference(api, org, reference, message):
    PersonFactory(organisation=org, reference_id="P1", name="Mine")
    response = api.patch(f"{URL}/P1", {"referenceId": reference}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"referenceId": [message]}
    assert Customer.objects.get().reference_id == "P1"


@pytest.mark.parametrize(("reference", "message"), REFUSED_REFERENCES)
def test_inline_connects_customer_refuses_the_reference(api, reference, message):
    body = {
        "referenceId": "C1",
        "name": "Acme Ltd",
        "accountTypeId": 2,
        "connects": [{"role": "DIRECTOR", "customer": person(reference)}],
    }
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"connects[0].customer.referenceId": [message]}
    assert not Customer.objects.exists()


@pytest.mark.parametrize(("reference", "message"), REFUSED_REFERENCES)
def test_connects_item_refuses_the_reference(api, org, reference, message):
    body = {
        "referenceId": "C1",
        "name": "Acme Ltd",
        "accountTypeId": 2,
        "connects": [{"role": "DIRECTOR", "referenceId": reference}],
    }
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"connects[0].referenceId": [message]}
    assert not Customer.objects.exists()


@pytest.mark.parametrize(("reference", "message"), REFUSED_REFERENCES)
def test_import_cell_refuses_the_reference(api, org, reference, message):
    # A control character travels in a workbook as Excel's escape (_x0007_).
    cell = "".join(f"_x{ord(c):04X}_" if ord(c) < 32 else c for c in reference)
    job = upload(api, [["Jane Doe", cell, 1, None], ["John Doe", "P-2", 1, None]])
    assert errors_of(job) == [(2, "referenceId", message)]
    assert list(Customer.objects.values_list("reference_id", flat=True)) == ["P-2"]


def test_nul_in_the_reference(api, org):
    body = '{"referenceId": "A\\u0000B", "name": "Jane Doe", "accountTypeId": 1}'
    response = api.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["message"] == (
        "NUL character (\\u0000) is not allowed in strings (at $.referenceId)."
    )
    job = upload(api, [["Jane Doe", "A_x0000_B", 1, None]])
    assert errors_of(job) == [(2, "referenceId", invisible("U+0000"))]
    assert not Customer.objects.exists()


@pytest.mark.parametrize("reference", LOOK_ALIKES)
def test_look_alikes_are_the_same_customer(api, org, reference):
    assert api.post(URL, person("CAFÉ-1"), format="json").status_code == 201
    response = api.post(URL, person(reference, name="Jane Smith"), format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["referenceId"] == "CAFÉ-1"
    assert list(Customer.objects.values_list("reference_id", "name")) == [("CAFÉ-1", "Jane Smith")]


@pytest.mark.parametrize("reference", LOOK_ALIKES)
def test_look_alikes_in_the_path_find_the_customer(api, org, reference):
    assert api.post(URL, person("CAFÉ-1"), format="json").status_code == 201
    response = api.get(f"{URL}/{quote(reference)}")
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["referenceId"] == "CAFÉ-1"
    assert api.get(f"{URL}/{quote(reference)}/connections").status_code == 200


@pytest.mark.parametrize("reference", LOOK_ALIKES)
def test_look_alikes_in_connects_and_the_import_are_the_same_customer(api, org, reference):
    PersonFactory(organisation=org, reference_id="CAFÉ-1", name="Jane Doe")
    body = {
        "referenceId": reference.replace("1", "2").replace("１", "２"),
        "name": "Acme Ltd",
        "accountTypeId": 2,
        "connects": [{"role": "DIRECTOR", "referenceId": reference}],
    }
    response = api.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["referenceId"] == "CAFÉ-2"
    connection = Connection.objects.get()
    assert connection.connected_customer.reference_id == "CAFÉ-1"

    job = upload(api, [["Jane Smith", reference, 1, None]])
    assert (job["createdCount"], job["updatedCount"]) == (0, 1)
    assert Customer.objects.get(reference_id="CAFÉ-1").name == "Jane Smith"
    assert Customer.objects.count() == 2


def test_reserved_references_are_every_fixed_segment_under_customers():
    """Every route that starts customers/<literal> reserves that literal."""

    def routes(patterns, prefix=""):  # type: ignore[no-untyped-def]
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from routes(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    fixed = set()
    for route in routes(get_resolver().url_patterns):
        if route.startswith("api/v1/customers/"):
            segment = route.removeprefix("api/v1/customers/").split("/")[0]
            if segment and "<" not in segment:
                fixed.add(segment)
    assert fixed == RESERVED_REFERENCE_IDS == {"bulk-upload", "business", "download-template"}


def test_admin_refuses_and_normalises_the_reference(org):
    from django.test import Client

    from tests.admin_support import change_form_data, make_staff

    client = Client()
    client.force_login(make_staff(org))
    FieldDefinitionFactory(organisation=org, key="segment")
    add = "/admin/customers/customer/add/"
    data = change_form_data(client.get(add))
    data.update(reference_id="CAF\u200bÉ-1", name=BELL, account_type=1)
    response = client.post(add, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "reference_id": [invisible("U+200B")],
        "name": [control("U+0007")],
    }
    assert not Customer.objects.exists()

    data.update(reference_id="P-1", name="Jane Doe", cf_segment="a\u0007b")
    response = client.post(add, data)
    assert response.context["adminform"].form.errors == {"cf_segment": [control("U+0007")]}
    assert not Customer.objects.exists()

    data.update(reference_id="ＣＡＦÉ-1", cf_segment="one\ntwo")
    response = client.post(add, data)
    assert response.status_code == 302
    assert Customer.objects.get().reference_id == "CAFÉ-1"
    assert Customer.objects.get().custom_fields == {"segment": "one\ntwo"}


# -- text -------------------------------------------------------------------------------

BELL = "bell\u0007name"

TEXT_CASES = [
    pytest.param({"name": BELL}, "name", "U+0007", id="name"),
    pytest.param({"name": "tab\tname"}, "name", "U+0009", id="name-tab"),
    pytest.param({"name": "two\nlines"}, "name", "U+000A", id="name-newline"),
    pytest.param({"name": "c1\u0085name"}, "name", "U+0085", id="name-c1"),
    pytest.param({"externalId": "E\u001b1"}, "externalId", "U+001B", id="external-id"),
    pytest.param(
        {"identity": {"givenName": BELL, "familyName": "Doe"}},
        "identity.givenName",
        "U+0007",
        id="given-name",
    ),
    pytest.param(
        {"profile": {"residentialAddress": {"city": "Lon\u0008don"}}},
        "profile.residentialAddress.city",
        "U+0008",
        id="city",
    ),
    pytest.param(
        {
            "identity": {
                "givenName": "Jane",
                "familyName": "Doe",
                "identifications": [{"type": "passport", "identificationNumber": "X\x7fY"}],
            }
        },
        "identity.identifications[0].identificationNumber",
        "U+007F",
        id="identification-number",
    ),
    pytest.param({"segment": "a\u0007b"}, "segment", "U+0007", id="custom-text"),
    pytest.param({"segment": "a\u000bb"}, "segment", "U+000B", id="custom-text-vertical-tab"),
]


@pytest.fixture
def segment(org):  # type: ignore[no-untyped-def]
    return FieldDefinitionFactory(organisation=org, key="segment", field_type="text")


@pytest.mark.parametrize(("extra", "field", "code"), TEXT_CASES)
def test_post_refuses_control_characters_in_text(api, segment, extra, field, code):
    response = api.post(URL, person("P1", **extra), format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {field: [control(code)]}
    assert not Customer.objects.exists()


@pytest.mark.parametrize(("extra", "field", "code"), TEXT_CASES)
def test_patch_refuses_control_characters_in_text(api, org, segment, extra, field, code):
    PersonFactory(organisation=org, reference_id="P1", name="Mine")
    response = api.patch(f"{URL}/P1", extra, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {field: [control(code)]}
    assert Customer.objects.get().name == "Mine"


@pytest.mark.parametrize(("extra", "field", "code"), TEXT_CASES)
def test_inline_customer_refuses_control_characters_in_text(api, segment, extra, field, code):
    body = {
        "referenceId": "C1",
        "name": "Acme Ltd",
        "accountTypeId": 2,
        "connects": [{"role": "DIRECTOR", "customer": person("P1", **extra)}],
    }
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {f"connects[0].customer.{field}": [control(code)]}
    assert not Customer.objects.exists()


def test_import_cell_refuses_control_characters_in_text(api, org, segment):
    job = upload(
        api,
        [["bell_x0007_name", "P-1", 1, None, "a"], ["Jane", "P-2", 1, None, "x_x001B_y"]],
        header=["name", "referenceId", "accountTypeId", "connects", "segment"],
    )
    assert errors_of(job) == [(2, "name", control("U+0007")), (3, "segment", control("U+001B"))]
    assert not Customer.objects.exists()
    # The report shows what was uploaded, in a well-formed workbook.
    response = api.get(f"/api/v1/customers/bulk-upload/{job['id']}/report")
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    rows = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
    assert rows[1][1] == "bell\ufffdname"
    assert rows[1][-1] == f"name: {control('U+0007')}"


def test_custom_text_may_hold_several_lines(api, segment):
    response = api.post(URL, person("P1", segment="one\ntwo\r\nthree\tfour"), format="json")
    assert response.status_code == 201
    assert Customer.objects.get().custom_fields == {"segment": "one\ntwo\r\nthree\tfour"}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"key": "seg\u200bment", "name": "S"}, "key", invisible("U+200B")),
        ({"key": "\u202esegment", "name": "S"}, "key", invisible("U+202E")),
        ({"key": "seg\u0007ment", "name": "S"}, "key", invisible("U+0007")),
        ({"key": "segment", "name": BELL}, "name", control("U+0007")),
        ({"key": "segment", "name": "two\nlines"}, "name", control("U+000A")),
        (
            {"key": "segment", "name": "S", "type": "choice", "choices": ["a", "b\u0007"]},
            "choices",
            "Choice 2 must not contain the control character U+0007.",
        ),
        (
            {"key": "segment", "name": "S", "type": "choice", "choices": ["a\u009b"]},
            "choices",
            "Choice 1 must not contain the control character U+009B.",
        ),
    ],
)
def test_field_definitions_refuse_hostile_text(api, body, field, message):
    response = api.post(FIELDS_URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {field: [message]}
    assert not CustomerFieldDefinition.objects.exists()


def test_field_definition_update_refuses_control_characters(api, org, segment):
    response = api.patch(f"{FIELDS_URL}/segment", {"name": BELL}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"name": [control("U+0007")]}
    segment.refresh_from_db()
    assert segment.name != BELL


def test_fullwidth_field_key_is_the_ascii_key(api):
    response = api.post(FIELDS_URL, {"key": "ｓｅｇｍｅｎｔ", "name": "S"}, format="json")
    assert response.status_code == 201
    assert CustomerFieldDefinition.objects.get().key == "segment"
    again = api.post(FIELDS_URL, {"key": "segment", "name": "S"}, format="json")
    assert again.status_code == 400
    assert again.json()["message"] == "A field with key segment already exists"


# -- wrong JSON types where an identity type goes ----------------------------------------

TYPE_MESSAGE = "Must be 'individual' or 'corporate', not {0}."


@pytest.mark.parametrize(
    ("value", "kind"),
    [({"a": 1}, "an object"), (["individual"], "an array"), (1, "a number"), (True, "a boolean")],
)
@pytest.mark.parametrize(
    ("wrap", "field"),
    [
        (lambda v: {"identity": {"type": v, "givenName": "J", "familyName": "D"}}, "identity.type"),
        (lambda v: {"profile": {"identityType": v}}, "profile.identityType"),
    ],
    ids=["identity", "profile"],
)
def test_identity_type_of_the_wrong_json_type(api, org, value, kind, wrap, field):
    message = TYPE_MESSAGE.format(kind)
    response = api.post(URL, person("P1", **wrap(value)), format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {field: [message]}

    PersonFactory(organisation=org, reference_id="P2", name="Mine")
    response = api.patch(f"{URL}/P2", wrap(value), format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {field: [message]}

    inline = {
        "referenceId": "C1",
        "name": "Acme Ltd",
        "accountTypeId": 2,
        "connects": [{"role": "DIRECTOR", "customer": person("P3", **wrap(value))}],
    }
    response = api.post(URL, inline, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {f"connects[0].customer.{field}": [message]}
    assert list(Customer.objects.values_list("reference_id", flat=True)) == ["P2"]
