"""The admin index's figures: what waits for an officer, and what happened lately.

Counts and activity are read through `tenant_rows`, exactly as the admin's lists are:
a staff user counts their organisation's rows, a superuser every organisation's. A
count links to the list filtered the same way, so the list shows those rows."""

from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode

from customers.models import Customer, OnboardingStatus, RiskLevel
from imports.models import BulkUpload
from kyc.models import Session, SessionStatus
from kycregistry.admin import tenant_rows
from kycregistry.admin_history import ACTIONS, Actor, admin_link, readable_value, record_actor
from kycregistry.jobs import JobStatus
from relations.models import Connection
from screening.models import HitStatus, ScreeningHit


@dataclass(frozen=True)
class Count:
    label: str
    count: int
    url: str
    attention: bool  # something waits for an officer


@dataclass(frozen=True)
class Activity:
    date: Any
    actor: Actor
    action: str
    kind: str
    subject: str
    url: str | None


# (label, model, the changelist's query string, the same rows as a filter)
COUNTS: list[tuple[str, type[Model], dict[str, str], dict[str, Any]]] = [
    (
        "Pending onboarding",
        Customer,
        {"onboarding_status__exact": OnboardingStatus.PENDING},
        {"onboarding_status": OnboardingStatus.PENDING},
    ),
    ("Needs review", Customer, {"needs_review__exact": "1"}, {"needs_review": True}),
    ("High risk", Customer, {"risk": RiskLevel.HIGH}, {"risk_level": RiskLevel.HIGH}),
    (
        "Open screening hits",
        ScreeningHit,
        {"status": HitStatus.OPEN},
        {"status": HitStatus.OPEN},
    ),
    (
        "KYC sessions in review",
        Session,
        {"status__exact": SessionStatus.REVIEW},
        {"status": SessionStatus.REVIEW},
    ),
    (
        "Bulk uploads running",
        BulkUpload,
        {"status__exact": JobStatus.RUNNING},
        {"status": JobStatus.RUNNING},
    ),
    (
        "Bulk uploads failed",
        BulkUpload,
        {"status__exact": JobStatus.FAILED},
        {"status": JobStatus.FAILED},
    ),
]


def _can_view(request: HttpRequest, model: type[Model]) -> bool:
    model_admin = admin.site.get_model_admin(model) if admin.site.is_registered(model) else None
    return bool(model_admin and model_admin.has_view_permission(request))


def _changelist(model: type[Model]) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")


def dashboard_counts(request: HttpRequest) -> list[Count]:
    """The counts of the dashboard the user may see, each with its filtered list."""
    counts = []
    for label, model, query, rows in COUNTS:
        if not _can_view(request, model):
            continue
        queryset: QuerySet[Any] = tenant_rows(request, model._default_manager.filter(**rows))
        count = queryset.count()
        url = f"{_changelist(model)}?{urlencode(query)}"
        counts.append(Count(label, count, url, attention=count > 0))
    return counts


# Whose history the activity lists, with the relations its words name.
ACTIVITY_MODELS: dict[type[Model], list[str]] = {
    Customer: [],
    Connection: ["customer", "connected_customer"],
    Session: ["customer"],
    ScreeningHit: ["customer", "party", "entry"],
}


def recent_activity(request: HttpRequest, limit: int = 12) -> list[Activity]:
    """The latest history records of the user's organisation (all for a superuser),
    newest first, in words."""
    records: list[tuple[type[Model], Any]] = []
    for model, named in ACTIVITY_MODELS.items():
        if not _can_view(request, model):
            continue
        history = model.history.model  # type: ignore[attr-defined]
        related = ["history_user", "history_api_key", *named]
        latest = tenant_rows(request, history.objects.select_related(*related))
        records += [(model, r) for r in latest.order_by("-history_date")[:limit]]
    records.sort(key=lambda pair: pair[1].history_date, reverse=True)
    return [_activity(request, model, record) for model, record in records[:limit]]


def _activity(request: HttpRequest, model: type[Model], record: Any) -> Activity:
    # A connection is read on its customer's page.
    if model is Connection:
        role = readable_value(Connection._meta.get_field("role"), record.role)
        subject = f"{record.connected_customer.name} — {role} of {record.customer.name}"
        url = admin_link(record.customer, request)
    else:
        if model is Session:
            subject = f"of {record.customer.name}"
        elif model is ScreeningHit:
            subject = f"{record.party.name} ~ {record.entry.name}"
        else:
            subject = str(record.history_object)
        url = admin_link(record.instance, request) if record.history_type != "-" else None
    return Activity(
        date=record.history_date,
        actor=record_actor(record, request),
        action=ACTIONS.get(record.history_type, record.history_type).lower(),
        kind=str(model._meta.verbose_name),
        subject=subject,
        url=url,
    )
