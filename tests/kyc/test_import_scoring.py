"""A bulk upload's customers are scored by the task worker right after the upload
commits, not inside its transaction (kyc.reactions)."""

import pytest

from customers.models import Customer
from tests.imports.sheets import upload_file, xlsx

pytestmark = pytest.mark.django_db


def test_uploaded_customers_are_scored_after_the_upload_commits(
    api, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    content = xlsx([["Jane Doe", "P-1", 1, None], ["Acme Ltd", "C-1", 2, None]])
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(
            "/api/v1/customers/bulk-upload", {"file": upload_file(content)}, format="multipart"
        )
        assert response.status_code == 202, response.json()
        # Written, not yet scored: the upload's transaction does not wait for scoring.
        assert set(Customer.objects.values_list("risk_level", "risk_score")) == {("", None)}
    assert callbacks, "scoring is queued for after the commit"
    for callback in callbacks:
        callback()
    scored = dict(Customer.objects.values_list("reference_id", "risk_level"))
    assert set(scored) == {"C-1", "P-1"}
    assert "" not in scored.values()
