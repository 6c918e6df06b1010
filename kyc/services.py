"""Writes of KYC sessions, risk rules and risk scores. Sessions update their customer
(last/usual IP and user agent) and rescore it in the same transaction; a rules change
stores a new version and queues the rescoring of the whole book (`kyc.tasks`)."""

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from customers.models import AccountType, Customer
from customers.services import CustomerExists
from customers.validation import clean_reference_id, require_object
from kyc.models import (
    FINAL_STATUSES,
    TRANSITIONS,
    RescoringStatus,
    RiskRescoring,
    RiskRules,
    Session,
)
from kyc.rules import clean_rules
from kyc.scoring import (
    BOOK_BATCH,
    PROPAGATION_REASON,
    RescoreResult,
    connected_ids,
    customers_rescore,
    rescore_batch,
    rules_in_force,
)
from kyc.validation import clean_session
from kycregistry import events
from onboarding.services import customer_upsert_with_connections
from organisations.audit import current_actor
from organisations.models import Organisation

logger = logging.getLogger(__name__)

SESSIONS_CHANGED = "Sessions changed"
RECALCULATED = "Recalculated on request"
RESCORING_FAILED = "The rescoring failed unexpectedly; the error was logged"


class SessionConflict(Exception):
    """A session cannot change this way (409)."""


@dataclass
class SessionWrite:
    session: Session
    customer_created: bool = False


def _customer_for_session(
    organisation: Organisation, data: dict[str, Any]
) -> tuple[Customer, bool]:
    has_customer, has_client = data.get("customerId") is not None, data.get("clientId") is not None
    if has_customer == has_client:
        got = "both" if has_customer else "neither"
        raise ValidationError(f"Give exactly one of customerId and clientId (got {got}).")
    if has_customer:
        reference = clean_reference_id(data["customerId"], path="customerId")
        customer = (
            Customer.objects.select_for_update()
            .for_organisation(organisation)
            .filter(reference_id=reference)
            .first()
        )
        if customer is None:
            raise Http404("Customer not found")
        return customer, False
    reference = clean_reference_id(data["clientId"], path="clientId")
    existing = (
        Customer.objects.select_for_update()
        .for_organisation(organisation)
        .filter(reference_id=reference)
        .first()
    )
    if existing is not None:
        return existing, False
    extra = data.get("customer")
    if extra is not None and not isinstance(extra, dict):
        raise ValidationError({"customer": ["Must be an object."]})
    payload = {"name": reference, "accountTypeId": AccountType.PERSON, **(extra or {})}
    payload["referenceId"] = reference
    try:
        result = customer_upsert_with_connections(
            organisation=organisation, data=payload, only_create=True
        )
    except CustomerExists:
        # Created by a concurrent request a moment ago: use it.
        return Customer.objects.select_for_update().get(
            organisation=organisation, reference_id=reference
        ), False
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            raise ValidationError(
                {f"customer.{key}": errors for key, errors in exc.error_dict.items()}
            ) from None
        raise
    return result.customer, True


def session_create(*, organisation: Organisation, data: Any) -> SessionWrite:
    """Record a session of an existing customer (`customerId`) or of the customer of
    `clientId`, created from `customer` (default: a person named after the clientId)
    when missing. Updates and rescores the customer in the same transaction."""
    require_object(data)
    cleaned = clean_session(data, partial=False)
    with transaction.atomic():
        customer, created = _customer_for_session(organisation, data)
        session = Session(organisation=organisation, customer=customer, **cleaned.fields)
        if session.status in FINAL_STATUSES:
            session.completed_at = timezone.now()
        session.save()
        _after_session_write(customer, created_ids=[session.pk])
    return SessionWrite(session=session, customer_created=created)


def session_update(*, session: Session, data: Any) -> Session:
    """PATCH status, checks, ipAddress, userAgent. A final session cannot change, and
    the status moves only along TRANSITIONS (SessionConflict: 409)."""
    require_object(data)
    cleaned = clean_session(data, partial=True)
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if locked.is_final:
            raise SessionConflict(f"Session is already {locked.status}")
        status = cleaned.fields.get("status", locked.status)
        if status != locked.status and status not in TRANSITIONS[locked.status]:
            raise SessionConflict(f"Session cannot go from {locked.status} to {status}")
        changed = [name for name, value in cleaned.fields.items() if getattr(locked, name) != value]
        if not changed:
            return locked
        for name in changed:
            setattr(locked, name, cleaned.fields[name])
        if locked.status in FINAL_STATUSES:
            locked.completed_at = timezone.now()
        locked.save()
        customer = Customer.objects.select_for_update().get(pk=locked.customer_id)
        _after_session_write(customer, updated_ids=[locked.pk])
    return locked


def _after_session_write(
    customer: Customer,
    *,
    created_ids: list[int] | None = None,
    updated_ids: list[int] | None = None,
) -> None:
    customer_sessions_summarise(customer=customer)
    events.sessions_written(
        organisation_id=customer.organisation_id,
        customer_ids=[customer.pk],
        created_ids=created_ids or [],
        updated_ids=updated_ids or [],
        actor=current_actor(),
    )
    customers_rescore(
        organisation_id=customer.organisation_id, ids=[customer.pk], why=SESSIONS_CHANGED
    )


def customer_sessions_summarise(*, customer: Customer) -> Customer:
    """lastIpAddress / lastUserAgent from the newest session that has them;
    usualUserAgent: the one seen in most sessions (ties: the most recently seen).
    The caller holds the customer's row lock."""
    rows = list(
        Session.objects.filter(customer_id=customer.pk)
        .order_by("-created_at", "-id")
        .values_list("ip_address", "user_agent")
    )
    last_ip = next((ip for ip, _agent in rows if ip), None)
    agents = [agent for _ip, agent in rows if agent]
    last_agent = agents[0] if agents else ""
    counts = Counter(agents)
    newest = {agent: -index for index, agent in reversed(list(enumerate(agents)))}
    usual = max(counts, key=lambda agent: (counts[agent], newest[agent])) if agents else ""
    values = {"last_ip_address": last_ip, "last_user_agent": last_agent, "usual_user_agent": usual}
    changed = [name for name, value in values.items() if getattr(customer, name) != value]
    if changed:
        for name in changed:
            setattr(customer, name, values[name])
        customer.save(update_fields=changed)
        events.customers_written(
            organisation_id=customer.organisation_id,
            changed_fields={customer.pk: changed},
            actor=current_actor(),
        )
    return customer


# -- risk -------------------------------------------------------------------------------


def customer_rescore(*, customer: Customer, why: str = RECALCULATED) -> Customer:
    """Recalculate one customer's risk now (and its connected parties' when its level
    changes); returns it as stored afterwards."""
    with transaction.atomic():
        customers_rescore(organisation_id=customer.organisation_id, ids=[customer.pk], why=why)
    customer.refresh_from_db()
    return customer


def risk_rules_replace(*, organisation: Organisation, data: Any) -> tuple[RiskRules, RiskRescoring]:
    """Store `data` (validated, normalised) as the organisation's next rules version and
    queue the rescoring of all its customers; an older queued or running rescoring is
    superseded."""
    from kyc.tasks import rescore_organisation

    rules = clean_rules(data)
    with transaction.atomic():
        Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
        latest = RiskRules.objects.filter(organisation=organisation).order_by("-version").first()
        stored = RiskRules.objects.create(
            organisation=organisation,
            version=(latest.version if latest else 0) + 1,
            rules=rules,
        )
        RiskRescoring.objects.filter(
            organisation=organisation,
            status__in=[RescoringStatus.QUEUED, RescoringStatus.RUNNING],
        ).update(status=RescoringStatus.SUPERSEDED, finished_at=timezone.now())
        job = RiskRescoring.objects.create(
            organisation=organisation,
            rules_version=stored.version,
            total=Customer.objects.filter(organisation=organisation).count(),
        )
    rescore_organisation.enqueue(job_id=job.pk)
    job.refresh_from_db()
    return stored, job


def rescoring_start(*, organisation: Organisation) -> RiskRescoring:
    """Rescore every customer of the organisation with the rules in force, in this
    process (the `rescore_risk` command); returns the finished job."""
    version = rules_in_force(organisation_id=organisation.pk).version
    with transaction.atomic():
        RiskRescoring.objects.filter(
            organisation=organisation,
            status__in=[RescoringStatus.QUEUED, RescoringStatus.RUNNING],
        ).update(status=RescoringStatus.SUPERSEDED, finished_at=timezone.now())
        job = RiskRescoring.objects.create(
            organisation=organisation,
            rules_version=version,
            total=Customer.objects.filter(organisation=organisation).count(),
        )
    rescoring_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def _still_current(job: RiskRescoring) -> bool:
    return RiskRescoring.objects.filter(pk=job.pk, status=RescoringStatus.RUNNING).exists()


def rescoring_run(*, job_id: int) -> None:
    """The background job: every customer of the organisation, in batches of BOOK_BATCH
    (each its own transaction, so progress shows and locks stay short), then the
    parties connected to those whose level changed. Stops when superseded."""
    claimed = RiskRescoring.objects.filter(pk=job_id, status=RescoringStatus.QUEUED).update(
        status=RescoringStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return  # superseded, or another worker has it
    job = RiskRescoring.objects.get(pk=job_id)
    try:
        _rescore_book(job)
    except Exception:
        logger.exception("Risk rescoring %s failed", job_id)
        RiskRescoring.objects.filter(pk=job_id).update(
            status=RescoringStatus.FAILED, message=RESCORING_FAILED, finished_at=timezone.now()
        )


def _rescore_book(job: RiskRescoring) -> None:
    rules = rules_in_force(organisation_id=job.organisation_id)
    why = f"Risk rules version {job.rules_version}"
    last, processed, levels = 0, 0, 0
    # Parties scored before a neighbour became (or stopped being) High risk: they read
    # its old level. Parties later in the run read the new one.
    stale: set[int] = set()
    while True:
        with transaction.atomic():
            if rules.version != job.rules_version or not _still_current(job):
                # A newer rules version took over (its own job rescores everyone).
                RiskRescoring.objects.filter(pk=job.pk, status=RescoringStatus.RUNNING).update(
                    status=RescoringStatus.SUPERSEDED, finished_at=timezone.now()
                )
                return
            ids = list(
                Customer.objects.filter(organisation_id=job.organisation_id, pk__gt=last)
                .order_by("pk")
                .values_list("pk", flat=True)[:BOOK_BATCH]
            )
            if not ids:
                break
            result: RescoreResult = rescore_batch(
                organisation_id=job.organisation_id, ids=ids, rules=rules, why=why
            )
            processed += len(ids)
            levels += len(result.level_changed_ids)
            last = ids[-1]
            if result.high_changed_ids and rules.rules["connectedHighRisk"]:
                stale |= {pk for pk in connected_ids(result.high_changed_ids) if pk <= last}
            RiskRescoring.objects.filter(pk=job.pk).update(
                processed=processed, changed_levels=levels
            )
    with transaction.atomic():
        if stale:
            customers_rescore(
                organisation_id=job.organisation_id, ids=stale, why=PROPAGATION_REASON, rules=rules
            )
        RiskRescoring.objects.filter(pk=job.pk, status=RescoringStatus.RUNNING).update(
            status=RescoringStatus.COMPLETED, processed=processed, finished_at=timezone.now()
        )
