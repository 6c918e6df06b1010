"""Customer writes: upsert by referenceId, PATCH, deactivation, onboarding status, and
the model-instance save the admin uses.

accountTypeId cannot change once a customer exists: a person's connections (director,
UBO) would silently become invalid, and a compliance record of a person that turns into
a company is a new record, not an edit.
"""

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from customers.models import (
    Customer,
    CustomerFieldDefinition,
    CustomerStatus,
    OnboardingStatus,
    new_client_number,
)
from customers.validation import (
    CleanedCustomer,
    clean_customer,
    clean_reference_id,
    record_errors,
    require_object,
)
from organisations.models import Organisation

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


def field_definitions(*, organisation: Organisation) -> dict[str, CustomerFieldDefinition]:
    return {
        definition.key: definition
        for definition in CustomerFieldDefinition.objects.for_organisation(organisation)
    }


def _reject_unknown(organisation: Organisation, reject_unknown: bool | None) -> bool:
    return organisation.reject_unknown_fields if reject_unknown is None else reject_unknown


def _validate(customer: Customer) -> None:
    # Uniqueness (referenceId, client number) is the database's job: a Python check
    # would race, and the create path turns the IntegrityError into an update.
    customer.full_clean(validate_unique=False, validate_constraints=False)


def _apply(customer: Customer, cleaned: CleanedCustomer) -> bool:
    """Set what the payload changes and save; an unchanged customer is not written
    (no history row, no updatedAt bump)."""
    changed = False
    for name, value in cleaned.fields.items():
        if getattr(customer, name) != value:
            setattr(customer, name, value)
            changed = True
    if cleaned.custom_fields != customer.custom_fields:
        customer.custom_fields = cleaned.custom_fields
        changed = True
    if changed:
        _validate(customer)
        customer.save()
    return changed


def _replace_connections(customer: Customer, raw: Any) -> None:
    # relations.services imports customers.services (inline customers, seed 004).
    from relations.services import connections_replace
    from relations.validation import parse_connects

    connections_replace(customer=customer, items=parse_connects(raw))


def _locked(organisation: Organisation, reference_id: str) -> Customer | None:
    return (
        Customer.objects.select_for_update()
        .for_organisation(organisation)
        .filter(reference_id=reference_id)
        .first()
    )


def customer_upsert(
    *,
    organisation: Organisation,
    data: Any,
    only_create: bool = False,
    reject_unknown: bool | None = None,
) -> UpsertResult:
    """Create the customer of `data["referenceId"]`, or update it when it exists (seed 001).

    Concurrent calls for one referenceId make one customer: the loser of the insert
    race sees the IntegrityError inside a savepoint, then locks the winner's row and
    updates it. `reject_unknown` defaults to the organisation's setting.
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
                _apply(existing, cleaned)
                if cleaned.connects is not None:
                    _replace_connections(existing, cleaned.connects)
                return UpsertResult(existing, created=False, ignored_fields=cleaned.ignored_fields)

            cleaned = clean_customer(data=data, definitions=definitions, reject_unknown=reject)
            customer = Customer(
                organisation=organisation, **cleaned.fields, custom_fields=cleaned.custom_fields
            )
            _validate(customer)
            try:
                with transaction.atomic():
                    customer.save(force_insert=True)
            except IntegrityError:
                continue  # lost the race for the referenceId or drew a taken client number
            if cleaned.connects is not None:
                _replace_connections(customer, cleaned.connects)
            return UpsertResult(customer, created=True, ignored_fields=cleaned.ignored_fields)
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
        _apply(locked, cleaned)
        if cleaned.connects is not None:
            _replace_connections(locked, cleaned.connects)
    return UpsertResult(locked, created=False, ignored_fields=cleaned.ignored_fields)


def customer_deactivate(*, customer: Customer) -> Customer:
    """Status inactive; nothing is erased. Deactivating twice writes once."""
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if locked.status != CustomerStatus.INACTIVE:
            locked.status = CustomerStatus.INACTIVE
            locked.save()
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
    return locked


def customer_save(*, customer: Customer) -> Customer:
    """Validate and save a model instance the admin edited: the same country, region,
    phone, email and identification rules as the API, values normalised in place
    ("ca" → "US-CA", phones in E.164); a taken client number is redrawn."""
    errors = record_errors(customer)
    if errors:
        raise ValidationError(errors)
    customer.full_clean()
    for _attempt in range(MAX_CREATE_ATTEMPTS):
        try:
            with transaction.atomic():
                customer.save()
            return customer
        except IntegrityError:
            taken = (
                Customer.objects.filter(
                    organisation_id=customer.organisation_id, client_number=customer.client_number
                )
                .exclude(pk=customer.pk)
                .exists()
            )
            if customer.pk is not None or not taken:
                raise ValidationError(
                    "The customer changed or was created at the same time; please retry."
                ) from None
            customer.client_number = new_client_number()
    raise ValidationError("Could not draw a free client number; please retry.")
