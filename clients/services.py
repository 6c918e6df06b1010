"""Every write of the client API (seed 004) and of seed 003's related persons.

Entry points over the customer and connection services: a client is a customer, a
relation is one or two connections, so every rule of `/customers` holds here too.
Errors name their field as the caller sent it (`data.client.identity.givenName`).
"""

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clients.models import ClientRelation, PortalUser, RelationType, ServiceProviderRecord
from clients.wire import account_type_of, create_payload, prefixed, under, update_payload
from customers.models import AccountType, Customer, OnboardingStatus
from customers.services import customer_update
from customers.validation import FieldErrors, clean_customer
from customers.validation.values import describe
from kycregistry import events
from onboarding.kyb import customer_flag_for_review
from onboarding.services import customer_upsert_with_connections
from organisations.audit import current_actor
from organisations.models import Organisation
from relations.models import Connection, Role
from relations.services import connection_add, connection_remove, connection_update
from relations.validation import ConnectItem, parse_connect_item

MAX_RELATIONS = 10  # per call (seed 004); more are added call by call
RELATION_ROLES: dict[str, tuple[str, ...]] = {
    RelationType.DIRECTOR: (Role.DIRECTOR,),
    RelationType.SHAREHOLDER: (Role.SHAREHOLDER,),
    RelationType.DIRECTOR_AND_SHAREHOLDER: (Role.DIRECTOR, Role.SHAREHOLDER),
    RelationType.AUTHORIZED_PERSON: (Role.AUTHORIZED_PERSON,),
}
RELATION_KEYS = ("relation", "identity", "profile")
RELATION_TYPES_TEXT = ", ".join(RelationType.values)


class ClientNotFound(Exception):
    """A name or id in the request matches nothing of the organisation (a 404)."""


class ClientConflict(Exception):
    """The request repeats something that may happen once (a 409)."""


@dataclass
class ClientCreated:
    customer: Customer
    relations: list[ClientRelation] = field(default_factory=list)
    user: PortalUser | None = None


def _error(path: str, message: str) -> ValidationError:
    return ValidationError({path: [message]})


def _new_customer(*, organisation: Organisation, payload: dict[str, Any]) -> Customer:
    public_id = uuid.UUID(payload["referenceId"])
    return customer_upsert_with_connections(
        organisation=organisation, data=payload, only_create=True, public_id=public_id
    ).customer


def relation_roles(relation: str) -> tuple[str, ...]:
    return RELATION_ROLES[relation]


def _relation_type(raw: Any, path: str) -> str:
    if raw not in RELATION_ROLES:
        shown = f'"{raw}"' if isinstance(raw, str) else describe(raw)
        raise _error(path, f"Unknown relation {shown}: use one of {RELATION_TYPES_TEXT}.")
    return str(raw)


def _check_relation_count(items: Any, path: str) -> list[Any]:
    if not isinstance(items, list):
        raise _error(path, f"Must be a list of relations, not {describe(items)}.")
    if len(items) > MAX_RELATIONS:
        raise _error(
            path,
            f"At most {MAX_RELATIONS} relations in one request (got {len(items)}); "
            "add more with further requests to /clients/{id}/relations.",
        )
    return items


def _require_company(company: Customer, path: str) -> None:
    if company.account_type != AccountType.COMPANY:
        raise _error(path, "Only corporate clients have relations.")


def _require_individual(raw: Mapping[str, Any], path: str) -> None:
    errors = FieldErrors()
    account_type = account_type_of(errors, f"{path}.identity", raw.get("identity"))
    errors.raise_if_any()
    if account_type != AccountType.PERSON:
        raise _error(f"{path}.identity.type", "Related parties are individuals: use 'individual'.")


def _relation_create(*, company: Customer, raw: Any, path: str) -> ClientRelation:
    if not isinstance(raw, Mapping):
        raise _error(path, "Must be an object with relation, identity and profile.")
    relation = _relation_type(raw.get("relation"), f"{path}.relation")
    _require_individual(raw, path)
    reference = str(uuid.uuid4())
    payload = create_payload(
        {k: v for k, v in raw.items() if k != "relation"},
        path=path,
        reference_id=reference,
        require_address=False,
    )
    with under(path):
        person = _new_customer(organisation=company.organisation, payload=payload)
    with under(f"{path}.relation"):
        for role in RELATION_ROLES[relation]:
            connection_add(customer=company, item=ConnectItem(reference_id=reference, role=role))
    return ClientRelation.objects.create(
        organisation_id=company.organisation_id, company=company, person=person, relation=relation
    )


def relations_add(*, company: Customer, items: Any, path: str) -> list[ClientRelation]:
    """Create each related individual and its relation to `company`, all or nothing."""
    _require_company(company, path)
    items = _check_relation_count(items, path)
    with transaction.atomic():
        return [
            _relation_create(company=company, raw=raw, path=f"{path}[{index}]")
            for index, raw in enumerate(items)
        ]


def relation_add(*, company: Customer, item: Any, path: str) -> ClientRelation:
    _require_company(company, path)
    with transaction.atomic():
        return _relation_create(company=company, raw=item, path=path)


def _relation_connections(relation: ClientRelation, roles: Sequence[str]) -> list[Connection]:
    return list(
        Connection.objects.filter(
            customer_id=relation.company_id,
            connected_customer_id=relation.person_id,
            role__in=roles,
        )
    )


def relation_update(*, relation: ClientRelation, data: Any, path: str) -> ClientRelation:
    """Patch style: `relation` changes the type (its connections follow), identity and
    profile change the related person."""
    payload = update_payload(data, path=path, allowed=RELATION_KEYS)
    if isinstance(data.get("identity"), Mapping) and data["identity"].get("type") not in (
        None,
        "individual",
    ):
        raise _error(f"{path}.identity.type", "Related parties are individuals: use 'individual'.")
    new_type = _relation_type(data["relation"], f"{path}.relation") if "relation" in data else None
    with transaction.atomic():
        locked = ClientRelation.objects.select_for_update().get(pk=relation.pk)
        if payload:
            with under(path):
                customer_update(customer=locked.person, data=payload)
        if new_type is not None and new_type != locked.relation:
            old_roles, new_roles = RELATION_ROLES[locked.relation], RELATION_ROLES[new_type]
            gone = [r for r in old_roles if r not in new_roles]
            for connection in _relation_connections(locked, gone):
                connection_remove(connection=connection)
            with under(f"{path}.relation"):
                for role in new_roles:
                    if role not in old_roles:
                        connection_add(
                            customer=locked.company,
                            item=ConnectItem(reference_id=locked.person.reference_id, role=role),
                        )
            locked.relation = new_type
            locked.save(update_fields=["relation", "updated_at"])
    return locked


def relation_remove(*, relation: ClientRelation) -> None:
    """Remove the relation and its connections (the related person stays a customer)."""
    with transaction.atomic():
        locked = ClientRelation.objects.select_for_update().get(pk=relation.pk)
        for connection in _relation_connections(locked, RELATION_ROLES[locked.relation]):
            connection_remove(connection=connection)
        locked.delete()


def _portal_user_create(*, customer: Customer) -> PortalUser:
    if (
        PortalUser.objects.for_organisation(customer.organisation_id)
        .filter(email__iexact=customer.email)
        .exists()
    ):
        raise ClientConflict(f"A user with email {customer.email} already exists")
    try:
        with transaction.atomic():
            return PortalUser.objects.create(
                organisation_id=customer.organisation_id, customer=customer, email=customer.email
            )
    except IntegrityError:
        raise ClientConflict(f"A user with email {customer.email} already exists") from None


def client_create(
    *, organisation: Organisation, client: Any, create_user: bool = False, path: str = "data.client"
) -> ClientCreated:
    """The direct workflow: the client (identity and address at a minimum), its
    related individuals (corporates, at most 10) and, with `create_user`, a portal user
    for an individual with an email; all or nothing."""
    reference = str(uuid.uuid4())
    payload = create_payload(client, path=path, reference_id=reference, extra_keys=("relations",))
    is_person = payload["accountTypeId"] == AccountType.PERSON
    relations = client.get("relations")
    if relations is not None:
        if is_person:
            raise _error(f"{path}.relations", "Only corporate clients have relations.")
        _check_relation_count(relations, f"{path}.relations")
    if create_user:
        if not is_person:
            raise _error("workflow.createUser", "Only individual clients get a user.")
        profile = client.get("profile")
        if not (isinstance(profile, Mapping) and profile.get("email")):
            raise _error(
                f"{path}.profile.email", "This field is required when workflow.createUser is true."
            )
    with transaction.atomic():
        with under(path):
            customer = _new_customer(organisation=organisation, payload=payload)
        result = ClientCreated(customer)
        if relations:
            result.relations = relations_add(
                company=customer, items=relations, path=f"{path}.relations"
            )
        if create_user:
            result.user = _portal_user_create(customer=customer)
    return result


def client_update(*, customer: Customer, client: Any, path: str = "data.client") -> Customer:
    """PATCH: only what is sent changes, with the rules of the customer services."""
    payload = update_payload(client, path=path)
    with under(path):
        return customer_update(customer=customer, data=payload).customer


# --- migration workflow -----------------------------------------------------------------


def _provider(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise _error("connect.serviceProvider", "This field is required (e.g. railsbank).")
    return name.strip().lower()


def records_load(*, organisation: Organisation, service_provider: str, text: str) -> int:
    """Load a service provider's clients, JSON lines of seed 004's client object plus a
    `sourceId`; each is validated now (as a new client would be). A record whose client
    exists already is not changed. Returns how many lines were loaded."""
    provider = _provider(service_provider)
    errors = FieldErrors()
    records: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        path = f"line {number}"
        try:
            raw = json.loads(line)
        except ValueError:
            errors.add(path, "Not a JSON object.")
            continue
        if not isinstance(raw, dict):
            errors.add(path, "Must be a JSON object (a client with a sourceId).")
            continue
        source_id = raw.pop("sourceId", None)
        if not isinstance(source_id, str) or not source_id.strip():
            errors.add(f"{path}.sourceId", "This field is required (a string).")
            continue
        try:
            payload = create_payload(raw, path=path, reference_id=source_id)
            with under(path):
                clean_customer(data=payload, definitions={})
        except ValidationError as exc:
            errors.extend(exc.message_dict)
            continue
        records[source_id.strip()] = raw
    if not records and not errors.by_field:
        errors.add("body", "No records: send one JSON object per line.")
    errors.raise_if_any()
    with transaction.atomic():
        taken = set(
            ServiceProviderRecord.objects.for_organisation(organisation)
            .filter(service_provider=provider, source_id__in=records, customer__isnull=False)
            .values_list("source_id", flat=True)
        )
        for source_id, client in records.items():
            if source_id in taken:
                continue
            ServiceProviderRecord.objects.update_or_create(
                organisation=organisation,
                service_provider=provider,
                source_id=source_id,
                defaults={"client": client},
            )
    return len(records)


def client_migrate(
    *, organisation: Organisation, service_provider: Any, source_id: Any
) -> tuple[Customer, ServiceProviderRecord]:
    """The migration workflow: the client is created from the service provider's
    record of `source_id` and linked to the provider (`client.connection-created`)."""
    provider = _provider(service_provider)
    if not isinstance(source_id, str) or not source_id.strip():
        raise _error("data.sourceId", "This field is required: the client's id at the provider.")
    source_id = source_id.strip()
    records = ServiceProviderRecord.objects.for_organisation(organisation).filter(
        service_provider=provider
    )
    if not records.exists():
        raise ClientNotFound(f"Service provider {provider} not found")
    with transaction.atomic():
        record = records.select_for_update().filter(source_id=source_id).first()
        if record is None:
            raise ClientNotFound(f"Record {source_id} not found at service provider {provider}")
        if record.customer_id is not None:
            raise ClientConflict(
                f"Client with sourceId {source_id} of service provider {provider} already exists"
            )
        try:
            customer = client_create(organisation=organisation, client=record.client).customer
        except ValidationError as exc:
            raise prefixed(exc, f"record {source_id}") from exc
        record.customer = customer
        record.connection_id = uuid.uuid4()
        record.connected_at = timezone.now()
        record.save(update_fields=["customer", "connection_id", "connected_at", "updated_at"])
        channel, actor_id = events.actor_names(current_actor())
        events.announce(
            events.ClientConnected(
                organisation_id=organisation.pk,
                customer_id=customer.pk,
                connection_id=str(record.connection_id),
                service_provider=provider,
                channel=channel,
                actor_id=actor_id,
            )
        )
    return customer, record


# --- seed 003: related persons ------------------------------------------------------------

SEED003_ROLES = {"REPRESENTATIVE": Role.AUTHORIZED_PERSON, "SHAREHOLDER": Role.SHAREHOLDER}
RANGE_NAMES = {"validFrom": "representingRange.start", "validTo": "representingRange.end"}


@dataclass
class RelatedPersonAdded:
    connection: Connection
    action: str  # ADD or UPDATE


def find_customer(*, organisation: Organisation, identifier: Any) -> Customer | None:
    """The organisation's customer of a public UUID or a referenceId."""
    if not isinstance(identifier, str) or not identifier.strip():
        return None
    rows = Customer.objects.for_organisation(organisation)
    try:
        found = rows.filter(public_id=uuid.UUID(identifier.strip())).first()
    except ValueError:
        found = None
    return found or rows.filter(reference_id=identifier.strip()).first()


def _overlaps(connection: Connection, start: date | None, end: date | None) -> bool:
    return (start is None or connection.valid_to is None or start <= connection.valid_to) and (
        connection.valid_from is None or end is None or connection.valid_from <= end
    )


def related_person_add(*, company: Customer, data: Any) -> RelatedPersonAdded:
    """Seed 003: `relation.userId` becomes a REPRESENTATIVE (AUTHORIZED_PERSON) or
    SHAREHOLDER of the business for `representingRange`. An overlapping connection of
    that person in that role is updated instead (UPDATE). After approval the company
    is flagged for review as well."""
    if company.account_type != AccountType.COMPANY:
        raise ValidationError("businessUserId: Only business customers have related persons.")
    raw = data.get("relation") if isinstance(data, Mapping) else None
    if not isinstance(raw, Mapping):
        raise _error(
            "relation",
            "This field is required: an object with userId, role, "
            "ownershipPercentage and representingRange.",
        )
    errors = FieldErrors()
    unknown = sorted(
        str(k)
        for k in raw
        if k not in ("userId", "role", "ownershipPercentage", "representingRange")
    )
    if unknown:
        errors.add("relation", f"Unknown key(s): {', '.join(unknown)}.")
    role = raw.get("role")
    if role not in SEED003_ROLES:
        errors.add("relation.role", "This field is required: REPRESENTATIVE or SHAREHOLDER.")
    if role == "SHAREHOLDER" and raw.get("ownershipPercentage") in (None, ""):
        errors.add("relation.ownershipPercentage", 'Required for SHAREHOLDER (e.g. "51", "30.5").')
    span = raw.get("representingRange")
    if not isinstance(span, Mapping):
        errors.add("relation.representingRange", "This field is required: {start, end}.")
        span = {}
    elif span.get("start") in (None, ""):
        errors.add("relation.representingRange.start", "This field is required (YYYY-MM-DD).")
    if raw.get("userId") in (None, ""):
        errors.add("relation.userId", "This field is required.")
    errors.raise_if_any()
    person = find_customer(organisation=company.organisation, identifier=raw["userId"])
    if person is None:
        raise ClientNotFound(f"User {raw['userId']} not found")
    item_raw = {
        "referenceId": person.reference_id,
        "role": SEED003_ROLES[str(role)],
        "ownershipPercentage": raw.get("ownershipPercentage"),
        "validFrom": span.get("start"),
        "validTo": span.get("end"),
    }
    parsed, item_errors = parse_connect_item(item_raw, path="relation")
    if item_errors:
        renamed = {}
        for key, messages in item_errors.items():
            for old, new in RANGE_NAMES.items():
                key = key.replace(f"relation.{old}", f"relation.{new}")
            renamed[key] = messages
        raise ValidationError(renamed)
    item = parsed[0]
    with transaction.atomic():
        existing = [
            c
            for c in Connection.objects.select_for_update().filter(
                customer=company, connected_customer=person, role=item.role
            )
            if _overlaps(c, item.valid_from, item.valid_to)
        ]
        if existing:
            connection = connection_update(
                connection=existing[0],
                data={
                    "ownershipPercentage": item.ownership_percentage,
                    "validFrom": item.valid_from.isoformat() if item.valid_from else None,
                    "validTo": item.valid_to.isoformat() if item.valid_to else None,
                },
            )
            action = "UPDATE"
        else:
            connection = connection_add(customer=company, item=item)
            action = "ADD"
        company.refresh_from_db()
        if company.onboarding_status == OnboardingStatus.APPROVED:
            customer_flag_for_review(
                customer=company,
                reason=f"Related person {person.reference_id} added as {role} after approval.",
            )
    return RelatedPersonAdded(connection=connection, action=action)


def portal_user_set_active(*, user: PortalUser, active: bool) -> PortalUser:
    """Enable or disable a portal user (the admin's actions); unchanged users are not
    written."""
    with transaction.atomic():
        locked = PortalUser.objects.select_for_update().get(pk=user.pk)
        if locked.active != active:
            locked.active = active
            locked.save(update_fields=["active"])
    return locked
