"""A NUL character in the URL path is a 400 with the envelope, on every route."""

import pytest

from customers.models import Customer

pytestmark = pytest.mark.django_db

MESSAGE = "The URL must not contain the NUL character (%00)."


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/customers/%00"),
        ("get", "/api/v1/customers/%00/"),
        ("patch", "/api/v1/customers/%00"),
        ("delete", "/api/v1/customers/%00"),
        ("get", "/api/v1/customer-fields/%00"),
        ("patch", "/api/v1/customer-fields/%00"),
        ("get", "/api/v1/customers/%00/organization"),
        ("get", "/api/v1/customers/%00/organization/bods"),
        ("post", "/api/v1/customers/%00/approve"),
        ("get", "/api/v1/customers/%00/connections"),
        ("put", "/api/v1/customers/%00/connections"),
        ("patch", "/api/v1/customers/P1/connections/%00"),
        ("get", "/api/v1/customers/bulk-upload/%00"),
        ("get", "/api/v1/customers/A%00B"),
        ("get", "/api/v1/no-such%00"),
    ],
)
def test_nul_in_the_path_is_a_400(api, method, path):
    response = getattr(api, method)(path, {}, format="json")
    assert response.status_code == 400, response.content
    assert response.json() == {"message": MESSAGE, "error": "Bad Request", "statusCode": 400}
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/customers?search=%00",
        "/api/v1/customers?country=A%00",
        "/api/v1/customers/P1/organization?asOf=%00",
        "/api/v1/customer-fields?%00=1",
    ],
)
def test_nul_in_the_query_is_a_400(api, path):
    response = api.get(path)
    assert response.status_code == 400, response.content
    assert response.json() == {"message": MESSAGE, "error": "Bad Request", "statusCode": 400}


def test_nul_outside_the_api_is_a_plain_400(admin_client):
    response = admin_client.get("/admin/customers/customer/?q=%00")
    assert response.status_code == 400
    assert response.content.decode() == MESSAGE
