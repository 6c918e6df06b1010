"""Portal users are listed and disabled in the admin, through the service, audited."""

import pytest

from clients.models import PortalUser
from tests.admin_support import make_staff
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def test_staff_disable_and_enable_a_portal_user(client, org):
    person = PersonFactory(organisation=org)
    user = PortalUser.objects.create(organisation=org, customer=person, email="jane@example.com")
    staff = make_staff(org)
    client.force_login(staff)
    url = "/admin/clients/portaluser/"
    assert "jane@example.com" in client.get(url).content.decode()

    response = client.post(url, {"action": "disable_selected", "_selected_action": [user.pk]})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.active is False
    record = user.history.latest("history_id")
    assert (record.active, record.history_user, record.history_channel) == (False, staff, "admin")

    client.post(url, {"action": "enable_selected", "_selected_action": [user.pk]})
    user.refresh_from_db()
    assert user.active is True
