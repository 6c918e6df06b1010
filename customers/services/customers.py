"""Customer writes: upsert by referenceId, PATCH, deactivation, onboarding status, and
the model-instance save the admin uses. Each announces what it wrote through
`kycregistry.events`.

These write the customer row only: a payload's `connects` is handed back in the
result (`UpsertResult.connects`) for `onboarding.services`, which applies it in the
same transaction.

accountTypeId cannot change once a customer exists: a person's connections (director,
UBO) would silently become invalid, and a compliance record of a person that turns into
a company is a new record, not an edit.
"""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.models import (
    Customer,
    CustomerFieldDefinition,
    CustomerStatus,
    OnboardingStatus,
    draw_client_numbers,
)
from customers.selectors import field_definitions_list
from customers.validation import (
    CleanedCustomer,
    clean_customer,
    clean_reference_id,
    record_errors,
    require_object,
)
from kycregistry import events
from kycregistry.compiled import CompiledQuery, Param
from organisations.audit import current_actor
from organisations.models import Organisation
from organisations.querysets import ORGANISATION

# A create can lose a race for its referenceId (→ update) or, rarely, for its random
# client number (→ new number); a handful of rounds is plenty.
MAX_CREATE_ATTEMPTS = 5


class CustomerExists(Exception):
    """A create-only request (`If-None-Match: *`) met an existing referenceId."""

    def __init__(self, reference_id: str) -> None:
        self.reference_id = reference_id
        super().__init__(f"Customer with referenceId {reference_id} already exists")


@dataclass
class UpsertResult:
    customer: Customer
    created: bool
    ignored_fields: list[str] = field(default_factory=list)
    connects: Any = None  # the payload's raw `connects` list, not applied here


def field_definitions(*, organisation: Organisation) -> dict[str, CustomerFieldDefinition]:
    return {
        definition.key: definition
        for definition in field_definitions_list(organisation_id=organisation.pk)
    }


def _reject_unknown(organisation: Organisation, reject_unknown: bool | None) -> bool:
    return organisation.reject_unknown_fields if reject_unknown is None else reject_unknown


def _validate(customer: Customer) -> None:
    # Uniqueness (referenceId, client number) is the database's job: a Python check
    # would race, and the create path turns the IntegrityError into an update. The
    # organisation is the caller's, set here, not read from the payload: checking that
    # it exists would be a query per write.
    customer.full_clean(exclude=["organisation"], validate_unique=False, validate_constraints=False)


def _apply(customer: Customer, cleaned: CleanedCustomer) -> set[str]:
    """Set what the payload changes and save; returns the names of the fields that
    changed. An unchanged customer is not written (no history row, no updatedAt bump)."""
    changed = set()
    for name, value in cleaned.fields.items():
        if getattr(customer, name) != value:
            setattr(customer, name, value)
            changed.add(name)
    if cleaned.custom_fields != customer.custom_fields:
        customer.custom_fields = cleaned.custom_fields
        changed.add("custom_fields")
    if changed:
        _validate(customer)
        customer.save(update_fields=changed)
    return changed


def _announce(customer: Customer, *, created: bool = False, changed: Collection[str] = ()) -> None:
    events.customers_written(
        organisation_id=customer.organisation_id,
        created_ids=[customer.pk] if created else [],
        changed_fields={customer.pk: changed},
        actor=current_actor(),
        customers=[customer],
    )


def customers_touch(*, ids: Collection[int]) -> datetime:
    """Move the customers' updatedAt to now (their connections changed) and return it."""
    now = timezone.now()
    Customer.objects.filter(pk__in=ids).update(updated_at=now)
    return now


# The upsert's lock of the customer it updates, compiled once (kycregistry.compiled).
LOCKED_BY_REFERENCE = CompiledQuery(
    lambda: (
        Customer.objects.select_for_update()
        .for_organisation(ORGANISATION)
        .filter(reference_id=Param("reference_id", Customer._meta.get_field("reference_id")))
        .order_by()
    )
)


def _locked(organisation: Organisation, reference_id: str) -> Customer | None:
    found = LOCKED_BY_REFERENCE.run(organisation=organisation.pk, reference_id=reference_id)
    return found[0] if found else None


def customer_upsert(
    *,
    organisation: Organisation,
    data: Any,
    only_create: bool = False,
    reject_unknown: bool | None = None,
    public_id: UUID | None = None,
) -> UpsertResult:
    """Create the customer of `data["referenceId"]`, or update it when it exists (seed 001).

    Concurrent calls for one referenceId make one customer: the loser of the insert
    race sees the IntegrityError inside a savepoint, then locks the winner's row and
    updates it. `reject_unknown` defaults to the organisation's setting. `public_id`
    (the client API's id) is given to a customer this call creates; else one is drawn.
    """
    require_object(data)
    reference_id = clean_reference_id(data.get("referenceId"))
    definitions = field_definitions(organisation=organisation)
    reject = _reject_unknown(organisation, reject_unknown)
    with transaction.atomic():
        for _attempt in range(MAX_CREATE_ATTEMPTS):
            existing = _locked(organisation, reference_id)
            if existing is not None:
                if only_create:
                    raise CustomerExists(reference_id)
                cleaned = clean_customer(
                    data=data, definitions=definitions, existing=existing, reject_unknown=reject
                )
                _announce(existing, changed=_apply(existing, cleaned))
                return UpsertResult(
                    existing,
                    created=False,
                    ignored_fields=cleaned.ignored_fields,
                    connects=cleaned.connects,
                )

            cleaned = clean_customer(data=data, definitions=definitions, reject_unknown=reject)
            customer = Customer(
                organisation=organisation,
                **cleaned.fields,
                custom_fields=cleaned.custom_fields,
                client_number=draw_client_numbers(organisation_id=organisation.pk, count=1)[0],
            )
            if public_id is not None:
                customer.public_id = public_id
            _validate(customer)
            try:
                with transaction.atomic():
                    customer.save(force_insert=True)
            except IntegrityError:
                continue  # lost the race for the referenceId or drew a taken client number
            _announce(customer, created=True)
            return UpsertResult(
                customer,
                created=True,
                ignored_fields=cleaned.ignored_fields,
                connects=cleaned.connects,
            )
    raise ValidationError(
        "Could not save the customer after several attempts; please retry the request."
    )


def customer_update(
    *, customer: Customer, data: Any, reject_unknown: bool | None = None
) -> UpsertResult:
    """PATCH (seed 004 patch style): given keys change; identity, address and custom
    fields merge into what is stored; `connects`, when present, replaces connections."""
    require_object(data)
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        organisation = locked.organisation
        cleaned = clean_customer(
            data=data,
            definitions=field_definitions(organisation=organisation),
            existing=locked,
            reject_unknown=_reject_unknown(organisation, reject_unknown),
            partial=True,
        )
        _announce(locked, changed=_apply(locked, cleaned))
    return UpsertResult(
        locked, created=False, ignored_fields=cleaned.ignored_fields, connects=cleaned.connects
    )


def customer_deactivate(*, customer: Customer) -> Customer:
    """Status inactive; nothing is erased. Deactivating twice writes once."""
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if locked.status != CustomerStatus.INACTIVE:
            locked.status = CustomerStatus.INACTIVE
            locked.save()
            _announce(locked, changed=["status"])
    return locked


def customer_set_onboarding_status(*, customer: Customer, status: str) -> Customer:
    if status not in OnboardingStatus.values:
        raise ValidationError(
            {"onboardingStatus": [f"Must be one of: {', '.join(OnboardingStatus.values)}."]}
        )
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if locked.onboarding_status != status:
            locked.onboarding_status = status
            locked.save()
            _announce(locked, changed=["onboarding_status"])
    return locked


def customer_save(*, customer: Customer) -> Customer:
    """Validate and save a model instance the admin edited: the same country, region,
    phone, email and identification rules as the API, values normalised in place
    ("ca" → "US-CA", phones in E.164); a taken client number is redrawn."""
    errors = record_errors(customer)
    if errors:
        raise ValidationError(errors)
    customer.full_clean()
    created = customer.pk is None
    if created:
        customer.client_number = draw_client_numbers(
            organisation_id=customer.organisation_id, count=1
        )[0]
    for _attempt in range(MAX_CREATE_ATTEMPTS):
        try:
            with transaction.atomic():
                changed = [] if created else _changed_fields(customer)
                customer.save()
                _announce(customer, created=created, changed=changed)
            return customer
        except IntegrityError:
            taken = (
                Customer.objects.filter(
                    organisation_id=customer.organisation_id, client_number=customer.client_number
                )
                .exclude(pk=customer.pk)
                .exists()
            )
            if not created or not taken:
                raise ValidationError(
                    "The customer changed or was created at the same time; please retry."
                ) from None
            customer.client_number = draw_client_numbers(
                organisation_id=customer.organisation_id, count=1
            )[0]
    raise ValidationError("Could not draw a free client number; please retry.")


# Columns every save rewrites: not what the admin changed.
DERIVED_FIELDS = {"search_text", "updated_at", "created_at", "import_digest", "import_digest_at"}


def _changed_fields(customer: Customer) -> list[str]:
    """The fields of `customer` that differ from its stored row."""
    names = [f.attname for f in Customer._meta.concrete_fields if f.attname not in DERIVED_FIELDS]
    stored = Customer.objects.filter(pk=customer.pk).values(*names).first() or {}
    return [name for name in names if stored.get(name) != getattr(customer, name)]
