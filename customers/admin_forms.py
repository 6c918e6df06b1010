"""The customer change form: identification rows, address parts and custom fields as
proper form fields, checked with the API's rules (customers.validation) so an error
reads like the API's message. The form only assembles the JSON columns; the admin
saves through `customers.services.customer_save`, which checks again and audits."""

from decimal import Decimal
from typing import Any

from django import forms

from customers.admin_widgets import (
    DateInput,
    connection_title,
    country_field,
    region_choices,
    role_choices,
)
from customers.models import AccountType, Customer, CustomerFieldDefinition, FieldType
from customers.validation.values import (
    ADDRESS_PART_MAX,
    CUSTOM_TEXT_MAX,
    ISO_REGION_COUNTRIES,
    FieldErrors,
    clean_country,
    clean_custom_value,
    clean_identifications,
    clean_region,
)
from kycregistry.admin import ServiceErrorForm
from relations.validation import format_percentage, parse_percentage

PERSON_FIELDS = ("given_name", "family_name", "birth_date")
COMPANY_FIELDS = ("legal_name", "incorporation_date", "corporation_type")

# identification key (API) → form field suffix and label
IDENTIFICATION_PARTS = (
    ("type", "type", "Type"),
    ("identificationNumber", "number", "Number"),
    ("issuingCountry", "issuing_country", "Issuing country"),
    ("issueDate", "issue_date", "Issue date"),
    ("expirationDate", "expiration_date", "Expiry date"),
)
# address key (API) → form field and label
ADDRESS_FIELDS = (
    ("street", "address_street", "Address line 1"),
    ("houseNumber", "address_house_number", "House number"),
    ("refinement", "address_refinement", "Address line 2"),
    ("city", "address_city", "City"),
    ("postalCode", "address_postal_code", "Postal code"),
    ("country", "address_country", "Country"),
)
SUFFIX_OF = {key: suffix for key, suffix, _label in IDENTIFICATION_PARTS}
REGION_FIELD = "address_region"
REGION_OTHER_FIELD = "address_region_other"
CUSTOM_PREFIX = "cf_"


def identification_field(index: int, suffix: str) -> str:
    return f"identification_{index}_{suffix}"


def identification_rows(customer: Customer | None) -> int:
    """Rows to show: the stored identifications and one empty row to add another."""
    return len((customer.identifications if customer else None) or []) + 1


def custom_field_name(key: str) -> str:
    return f"{CUSTOM_PREFIX}{key}"


class CustomerAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    """Subclassed per page by `customer_form_class` with the identification rows and
    the organisation's custom fields."""

    identification_count = 1
    definitions: tuple[CustomerFieldDefinition, ...] = ()

    country = country_field("Country")
    address_street = forms.CharField(
        label="Address line 1", required=False, max_length=ADDRESS_PART_MAX
    )
    address_house_number = forms.CharField(
        label="House number", required=False, max_length=ADDRESS_PART_MAX
    )
    address_refinement = forms.CharField(
        label="Address line 2", required=False, max_length=ADDRESS_PART_MAX
    )
    address_city = forms.CharField(label="City", required=False, max_length=ADDRESS_PART_MAX)
    address_postal_code = forms.CharField(
        label="Postal code", required=False, max_length=ADDRESS_PART_MAX
    )
    address_region = forms.ChoiceField(
        label="Region (US, Canada, Mexico)", choices=region_choices, required=False
    )
    address_region_other = forms.CharField(
        label="Region (other countries)", required=False, max_length=ADDRESS_PART_MAX
    )
    address_country = country_field("Address country")

    class Meta:
        model = Customer
        fields = (
            "organisation",
            "reference_id",
            "name",
            "account_type",
            "status",
            "external_id",
            "monitored",
            *PERSON_FIELDS,
            *COMPANY_FIELDS,
            "country",
            "phone",
            "email",
        )
        widgets = {"birth_date": DateInput(), "incorporation_date": DateInput()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        customer = self.instance
        for index, item in enumerate(customer.identifications or []):
            for key, suffix, _label in IDENTIFICATION_PARTS:
                self.initial.setdefault(identification_field(index, suffix), item.get(key, ""))
        address = customer.address or {}
        for key, name, _label in ADDRESS_FIELDS:
            self.initial.setdefault(name, address.get(key, ""))
        region = address.get("region", "")
        if address.get("country") in ISO_REGION_COUNTRIES:
            self.initial.setdefault(REGION_FIELD, region)
        else:
            self.initial.setdefault(REGION_OTHER_FIELD, region)
        values = customer.custom_fields or {}
        for definition in self.definitions:
            if definition.key in values:
                self.initial.setdefault(custom_field_name(definition.key), values[definition.key])

    # --- assembling the JSON columns -----------------------------------------------------

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.instance.identifications = self._identifications(cleaned)
        self.instance.address = self._address(cleaned)
        self.instance.custom_fields = self._custom_fields(cleaned)
        return cleaned

    def _identifications(self, cleaned: dict[str, Any]) -> list[dict[str, str]]:
        items: list[dict[str, Any]] = []
        fields_of: list[int] = []
        for index in range(self.identification_count):
            item = {}
            for key, suffix, _label in IDENTIFICATION_PARTS:
                value = cleaned.get(identification_field(index, suffix))
                if value not in (None, ""):
                    item[key] = value.isoformat() if hasattr(value, "isoformat") else value
            if item:
                items.append(item)
                fields_of.append(index)
        errors = FieldErrors()
        result = clean_identifications(errors, "identifications", items)
        for path, messages in errors.by_field.items():
            # "identifications[0].issueDate" → the row's issue-date field
            position, _, key = path.removeprefix("identifications[").partition("].")
            row_suffix = SUFFIX_OF.get(key)
            if position.isdigit() and row_suffix:
                self.add_error(identification_field(fields_of[int(position)], row_suffix), messages)
            else:
                self.add_error(None, messages)
        return result or []

    def _address(self, cleaned: dict[str, Any]) -> dict[str, str]:
        address = {
            key: cleaned[name].strip()
            for key, name, _label in ADDRESS_FIELDS
            if (cleaned.get(name) or "").strip()
        }
        country = address.get("country", "")
        if country:
            errors = FieldErrors()
            clean_country(errors, "country", country)
            for messages in errors.by_field.values():
                self.add_error("address_country", messages)
        if country in ISO_REGION_COUNTRIES:
            region = cleaned.get(REGION_FIELD) or cleaned.get(REGION_OTHER_FIELD) or ""
            if region:
                errors = FieldErrors()
                code = clean_region(errors, "region", country, region.strip())
                for messages in errors.by_field.values():
                    self.add_error(REGION_FIELD, messages)
                if code:
                    address["region"] = code
        elif (cleaned.get(REGION_FIELD) or "") and not cleaned.get(REGION_OTHER_FIELD):
            self.add_error(
                REGION_FIELD,
                "This region belongs to the United States, Canada or Mexico: choose that "
                "country or leave the region empty.",
            )
        elif region := (cleaned.get(REGION_OTHER_FIELD) or "").strip():
            address["region"] = region
        return address

    def _custom_fields(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        values = dict(self.instance.custom_fields or {})
        for definition in self.definitions:
            name = custom_field_name(definition.key)
            if name not in cleaned:
                continue
            value = cleaned[name]
            if definition.field_type == FieldType.BOOLEAN:
                if definition.key in values or name in self.changed_data:
                    values[definition.key] = bool(value)
                continue
            if value in (None, ""):
                values.pop(definition.key, None)
                continue
            errors = FieldErrors()
            typed = clean_custom_value(errors, definition.key, definition, value)
            for messages in errors.by_field.values():
                self.add_error(name, messages)
            if typed is not None and typed != "":
                values[definition.key] = typed
        return values


def _identification_fields(index: int) -> dict[str, forms.Field]:
    number = index + 1
    return {
        identification_field(index, "type"): forms.CharField(
            label=f"Identification {number}: type", required=False, max_length=64
        ),
        identification_field(index, "number"): forms.CharField(
            label=f"Identification {number}: number", required=False, max_length=128
        ),
        identification_field(index, "issuing_country"): country_field(
            f"Identification {number}: issuing country"
        ),
        identification_field(index, "issue_date"): forms.DateField(
            label=f"Identification {number}: issue date", required=False, widget=DateInput()
        ),
        identification_field(index, "expiration_date"): forms.DateField(
            label=f"Identification {number}: expiry date", required=False, widget=DateInput()
        ),
    }


def _custom_field(definition: CustomerFieldDefinition) -> forms.Field:
    options: dict[str, Any] = {
        "label": definition.name,
        "required": definition.required and definition.field_type != FieldType.BOOLEAN,
        "error_messages": {"required": f"This field is required ({definition.name})."},
    }
    kind = definition.field_type
    if kind == FieldType.DATE:
        return forms.CharField(widget=DateInput(), **options)
    if kind == FieldType.NUMBER:
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "any"}), **options)
    if kind == FieldType.BOOLEAN:
        return forms.BooleanField(**options)
    if kind == FieldType.CHOICE:
        choices = [("", "—"), *((str(c), str(c)) for c in definition.choices or [])]
        return forms.ChoiceField(choices=choices, **options)
    return forms.CharField(
        max_length=CUSTOM_TEXT_MAX, widget=forms.Textarea(attrs={"rows": 2}), **options
    )


def customer_form_class(
    *, identification_count: int, definitions: list[CustomerFieldDefinition]
) -> type[CustomerAdminForm]:
    """The form of one page: `identification_count` identification rows and a field
    per custom field definition, declared so that ModelAdmin.get_form keeps them."""
    attrs: dict[str, Any] = {
        "identification_count": identification_count,
        "definitions": tuple(definitions),
    }
    for index in range(identification_count):
        attrs.update(_identification_fields(index))
    for definition in definitions:
        attrs[custom_field_name(definition.key)] = _custom_field(definition)
    return type("CustomerAdminForm", (CustomerAdminForm,), attrs)


def identity_fields(account_type: int | None) -> tuple[str, ...]:
    """Person-only fields for persons, company-only fields for companies, both (switched
    by static/js/customer-form.js) on the add page."""
    if account_type == AccountType.PERSON:
        return PERSON_FIELDS
    if account_type == AccountType.COMPANY:
        return COMPANY_FIELDS
    return (*PERSON_FIELDS, *COMPANY_FIELDS)


# The connection table's constraints (relations.models) in words.
CONSTRAINT_WORDS = {
    "connection_not_self": "A customer cannot hold a role in itself.",
    "connection_percentage_range": "The percentage must be greater than 0 and at most 100.",
    "connection_period_order": "Valid to must not be before valid from.",
    "connection_valid_role": "Choose a role from the list.",
}


def constraint_in_words(message: str) -> str:
    for name, words in CONSTRAINT_WORDS.items():
        if f"“{name}”" in message or f'"{name}"' in message:
            return words
    return message


class ConnectionRowForm(ServiceErrorForm):
    """A connection inline row: roles in words; `title` names the other party as the
    row was saved (not as the failing POST changed it)."""

    party_field = "connected_customer"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "role" in self.fields:
            self.fields["role"].choices = role_choices()  # type: ignore[attr-defined]
        self.title = (
            connection_title(self.instance, party_field=self.party_field)
            if self.instance.pk is not None
            else "New connection"
        )
        stored = self.initial.get("ownership_percentage")
        if isinstance(stored, Decimal):
            self.initial["ownership_percentage"] = format_percentage(stored)

    def clean_ownership_percentage(self) -> Any:
        value = self.cleaned_data.get("ownership_percentage")
        if value is None:
            return value
        try:
            return parse_percentage(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def _post_clean(self) -> None:
        super()._post_clean()
        found = self._errors  # type: ignore[attr-defined]
        for name, errors in list(found.items()):
            found[name] = self.error_class(
                [constraint_in_words(str(m)) for m in errors], renderer=self.renderer
            )


class HeldConnectionRowForm(ConnectionRowForm):
    """A role held in this customer: titled by the holder."""

    party_field = "connected_customer"


class ConnectedToRowForm(ConnectionRowForm):
    """A role this customer holds in another: titled by that customer."""

    party_field = "customer"
