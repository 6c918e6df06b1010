"""Concurrent posts of one referenceId make one customer. PostgreSQL only."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from customers.models import Customer
from tests.markers import postgres_only

THREADS = 8


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_make_one_customer(api):
    raw_auth = api._credentials["HTTP_AUTHORIZATION"]
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def post(index: int) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=raw_auth)
        try:
            barrier.wait(timeout=10)
            response = client.post(
                "/api/v1/customers",
                {"name": f"Name {index}", "referenceId": "RACE-1", "accountTypeId": 1},
                format="json",
            )
            statuses.append(response.status_code)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(statuses) == [200] * (THREADS - 1) + [201]
    assert Customer.objects.filter(reference_id="RACE-1").count() == 1
    customer = Customer.objects.get(reference_id="RACE-1")
    assert customer.history.filter(history_type="+").count() == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("method", ["patch", "delete"])
def test_a_field_definition_deleted_while_a_request_waits_for_it_is_not_found(api, org, method):
    """The request found the definition, then waits on its lock while another deletes
    it: it answers 404, not a crash, and writes nothing."""
    from django.db import transaction

    from customers.models import CustomerFieldDefinition
    from customers.services import field_definition_delete

    definition = CustomerFieldDefinition.objects.create(organisation=org, key="tier", name="Tier")
    raw_auth = api._credentials["HTTP_AUTHORIZATION"]
    locked = threading.Event()
    answers: list[tuple[int, dict]] = []
    errors: list[BaseException] = []

    def request() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=raw_auth)
        try:
            locked.wait(timeout=10)
            call = getattr(client, method)
            response = call("/api/v1/customer-fields/tier", {"name": "Level"}, format="json")
            answers.append((response.status_code, response.json()))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=request)
    thread.start()
    with transaction.atomic():
        CustomerFieldDefinition.objects.select_for_update().get(pk=definition.pk)
        locked.set()
        thread.join(timeout=1)  # the request is now waiting for the row lock
        assert thread.is_alive()
        field_definition_delete(definition=definition)
    thread.join(timeout=30)

    assert errors == []
    assert answers == [
        (
            404,
            {"message": "Customer field not found", "error": "Not Found", "statusCode": 404},
        )
    ]
    assert not CustomerFieldDefinition.objects.filter(key="tier").exists()
    assert definition.history.filter(history_type="-").count() == 1
