"""Reads of screening, with their joins done once here."""

from django.db.models import QuerySet

from customers.models import Customer
from organisations.models import Organisation
from screening.models import HitStatus, ScreeningHit

HIT_JOINS = ("party", "entry__watchlist")


def hits_for(*, customer: Customer, status: str | None = None) -> QuerySet[ScreeningHit]:
    hits = ScreeningHit.objects.filter(customer=customer).select_related(*HIT_JOINS)
    if status:
        hits = hits.filter(status=status)
    return hits.order_by("-score", "id")


def review_queue(*, organisation: Organisation) -> QuerySet[ScreeningHit]:
    return (
        ScreeningHit.objects.for_organisation(organisation)
        .filter(status=HitStatus.OPEN)
        .select_related("customer", *HIT_JOINS)
        .order_by("-score", "id")
    )
