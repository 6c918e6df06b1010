"""kycregistry.compiled: a queryset compiled once, run again with other values."""

from datetime import UTC, datetime

import pytest
from django.db.models import DateTimeField, Value

from customers.models import Customer
from kycregistry.compiled import CompiledQuery, Param
from organisations.querysets import ORGANISATION
from tests.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db

REFERENCE = Param("reference_id", Customer._meta.get_field("reference_id"))


def by_reference() -> CompiledQuery[Customer]:
    return CompiledQuery(
        lambda: (
            Customer.objects.for_organisation(ORGANISATION)
            .filter(reference_id=REFERENCE)
            .order_by()[:1]
        )
    )


def test_runs_with_each_call_s_values_and_reads_model_instances(org, other_org):
    PersonFactory(organisation=org, reference_id="P-1", name="Ada", address={"city": "Bath"})
    CompanyFactory(organisation=org, reference_id="C-1", name="Acme Ltd")
    query = by_reference()
    (ada,) = query.run(organisation=org.pk, reference_id="P-1")
    assert isinstance(ada, Customer)
    assert (ada.name, ada.address, ada.organisation_id) == ("Ada", {"city": "Bath"}, org.pk)
    assert ada.created_at.tzinfo is not None  # the column's converters ran
    assert [c.name for c in query.run(organisation=org.pk, reference_id="C-1")] == ["Acme Ltd"]
    # The organisation is a parameter like any other: another one's rows are not found.
    assert query.run(organisation=other_org.pk, reference_id="P-1") == []


def test_builds_and_compiles_once(org, django_assert_num_queries):
    PersonFactory(organisation=org, reference_id="P-1")
    built = []

    def build():
        built.append(1)
        return Customer.objects.for_organisation(ORGANISATION).filter(reference_id=REFERENCE)

    query = CompiledQuery(build)
    for _ in range(3):
        with django_assert_num_queries(1):
            assert len(query.run(organisation=org.pk, reference_id="P-1")) == 1
    assert built == [1]


def test_annotations_become_attributes(org):
    PersonFactory(organisation=org, reference_id="P-1")
    query = CompiledQuery(
        lambda: (
            Customer.objects.for_organisation(ORGANISATION)
            .filter(reference_id=REFERENCE)
            .annotate(seven=Value(7))
        )
    )
    (customer,) = query.run(organisation=org.pk, reference_id="P-1")
    assert customer.seven == 7


def test_values_are_prepared_as_their_field_prepares_them(org):
    PersonFactory(organisation=org, reference_id="P-1")
    created_before = CompiledQuery(
        lambda: Customer.objects.for_organisation(ORGANISATION).filter(
            created_at__lt=Param("moment", DateTimeField())
        )
    )
    assert created_before.run(organisation=org.pk, moment=datetime(2000, 1, 1, tzinfo=UTC)) == []
    assert len(created_before.run(organisation=org.pk, moment=datetime.now(UTC))) == 1


def test_every_value_is_given_and_no_other(org):
    query = by_reference()
    with pytest.raises(TypeError, match=r"takes \['organisation', 'reference_id'\]"):
        query.run(reference_id="P-1")
    with pytest.raises(TypeError, match="was given"):
        query.run(organisation=org.pk, reference_id="P-1", name="x")


def test_deferred_fields_stay_deferred(org):
    PersonFactory(organisation=org, reference_id="P-1", name="Ada")
    query = CompiledQuery(
        lambda: (
            Customer.objects.for_organisation(ORGANISATION)
            .filter(reference_id=REFERENCE)
            .only("id", "name")
        )
    )
    (ada,) = query.run(organisation=org.pk, reference_id="P-1")
    assert ada.name == "Ada"
    assert "email" in ada.get_deferred_fields() and "name" not in ada.get_deferred_fields()


def test_rows_of_the_model_only():
    query = CompiledQuery(
        lambda: Customer.objects.filter(reference_id=REFERENCE).select_related("organisation")
    )
    with pytest.raises(ValueError, match="rows of its model only"):
        query.run(reference_id="P-1")


def test_windows_of_rows_and_counts(org, other_org):
    for n in range(5):
        PersonFactory(organisation=org, reference_id=f"P-{n}")
    PersonFactory(organisation=other_org)
    query = CompiledQuery(
        lambda: Customer.objects.for_organisation(ORGANISATION).order_by("reference_id")
    )
    rows = query.rows(organisation=org.pk)
    assert [c.reference_id for c in rows[1:3]] == ["P-1", "P-2"]
    assert [c.reference_id for c in rows[3:]] == ["P-3", "P-4"]
    assert rows.count() == 5 and rows.count(upto=3) == 3
    assert query.count(organisation=other_org.pk) == 1


def test_no_window_of_a_sliced_or_locking_query(org):
    sliced = CompiledQuery(lambda: Customer.objects.for_organisation(ORGANISATION)[:2])
    assert sliced.run(organisation=org.pk) == []
    with pytest.raises(ValueError, match="windows of rows"):
        sliced.run(organisation=org.pk, start=1)
    with pytest.raises(ValueError, match="without a step"):
        sliced.rows(organisation=org.pk)[0:4:2]
