"""Reads of sessions, risk rules and risk profiles."""

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from customers.filters import _moment as parse_moment
from customers.models import Customer
from customers.validation import clean_reference_id
from kyc.models import RiskRescoring, RiskRules, Session, SessionStatus
from kyc.rules import DEFAULT_RULES
from organisations.models import Organisation

SESSION_FILTERS = ("status", "customerId", "createdAfter", "createdBefore")


def session_list(*, organisation: Organisation, filters: Any) -> QuerySet[Session]:
    """The organisation's sessions, newest first; filters status, customerId
    (referenceId), createdAfter, createdBefore (raises ValidationError naming one)."""
    sessions = Session.objects.for_organisation(organisation).select_related("customer")
    errors: dict[str, list[str]] = {}
    status = filters.get("status")
    if status is not None:
        if status not in SessionStatus.values:
            errors["status"] = [f"Must be one of: {', '.join(SessionStatus.values)}."]
        sessions = sessions.filter(status=status)
    reference = filters.get("customerId")
    if reference is not None:
        try:
            sessions = sessions.filter(
                customer__reference_id=clean_reference_id(reference, path="customerId")
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
    for name, lookup, end_of_day in (
        ("createdAfter", "created_at__gte", False),
        ("createdBefore", "created_at__lte", True),
    ):
        value = filters.get(name)
        if value is not None:
            try:
                sessions = sessions.filter(
                    **{lookup: parse_moment(name, value, end_of_day=end_of_day)}
                )
            except ValidationError as exc:
                errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return sessions.order_by("-created_at", "-id")


def session_get(*, organisation: Organisation, public_id: str) -> Session:
    try:
        key = uuid.UUID(public_id)
    except ValueError:
        raise Http404("Session not found") from None
    session = (
        Session.objects.for_organisation(organisation)
        .select_related("customer")
        .filter(public_id=key)
        .first()
    )
    if session is None:
        raise Http404("Session not found")
    return session


def customer_sessions(*, customer: Customer) -> QuerySet[Session]:
    return (
        Session.objects.filter(customer=customer)
        .select_related("customer")
        .order_by("-created_at", "-id")
    )


def risk_rules_current(*, organisation: Organisation) -> dict[str, Any]:
    """The rules in force (version 0: the shipped defaults) and the latest rescoring."""
    stored = RiskRules.objects.filter(organisation=organisation).order_by("-version").first()
    job = (
        RiskRescoring.objects.filter(organisation=organisation)
        .order_by("-created_at", "-id")
        .first()
    )
    return {
        "version": stored.version if stored else 0,
        "rules": stored.rules if stored else DEFAULT_RULES,
        "updatedAt": stored.created_at if stored else None,
        "isDefault": stored is None,
        "rescoring": job,
    }


def risk_profile(*, customer: Customer) -> dict[str, Any]:
    """The customer's stored score with the factors that make it (no query: the
    columns are on the customer row)."""
    return {
        "riskScore": customer.risk_score,
        "riskScoreName": customer.risk_score_name,
        "factors": customer.risk_factors or [],
        "calculatedAt": customer.risk_calculated_at,
        "rulesVersion": customer.risk_rules_version,
    }
