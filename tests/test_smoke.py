import pytest

pytestmark = pytest.mark.django_db


def test_unknown_api_url_is_json_404(api):
    response = api.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"message": "Not found.", "error": "Not Found", "statusCode": 404}
