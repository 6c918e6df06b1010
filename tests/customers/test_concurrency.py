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
