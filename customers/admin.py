"""Back-office for customers and field definitions. Writes go through
customers.services and relations.services; tenancy comes from kycregistry.admin."""

import datetime
import logging
from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.forms.models import construct_instance
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from customers.admin_change_page import CustomerChangePageMixin
from customers.admin_export import export_csv, export_xlsx
from customers.admin_forms import (
    ConnectedToRowForm,
    ConnectionRowForm,
    CustomerAdminForm,
    HeldConnectionRowForm,
)
from customers.models import (
    AccountType,
    Customer,
    CustomerFieldDefinition,
    CustomerStatus,
    FieldType,
    OnboardingStatus,
    RiskLevel,
)
from customers.services import (
    customer_deactivate,
    customer_save,
    field_definition_create,
    field_definition_delete,
    field_definition_update,
)
from customers.text import fold
from imports.admin_filters import BulkUploadFilter
from kyc.admin import RISK_CLASSES, RISK_READONLY, CustomerRiskAdminMixin, SessionInline
from kycregistry.admin import (
    TenantHistoryMixin,
    TenantInline,
    TenantModelAdmin,
    admin_audit,
    tenant_rows,
    user_organisation,
)
from kycregistry.admin_filters import DateRangeFilter
from kycregistry.admin_history import (
    ACTIONS,
    EMPTY,
    HistoryRow,
    changes_between,
    channel_words,
    readable_value,
    record_actor,
)
from onboarding.services import customer_approve, customer_reject
from relations.models import Connection
from relations.services import connection_remove, connection_save

CONNECTION_FIELDS = ("role", "ownership_percentage", "valid_from", "valid_to")

logger = logging.getLogger(__name__)

STATUS_COLOURS: dict[str, str] = {CustomerStatus.ACTIVE: "green", CustomerStatus.INACTIVE: "grey"}
ONBOARDING_COLOURS: dict[str, str] = {
    OnboardingStatus.PENDING: "amber",
    OnboardingStatus.APPROVED: "green",
    OnboardingStatus.REJECTED: "red",
}


def badge(text: str, colour: str) -> str:
    """A coloured label (static/css/admin.css): the colour is a class, not a style."""
    return format_html('<span class="badge badge-{}">{}</span>', colour, text)


def connection_label(record: Any) -> str:
    role = readable_value(Connection._meta.get_field("role"), record.role)
    share = record.ownership_percentage
    percentage = f" {readable_value(None, share)}%" if share is not None else ""
    return (
        f"Connection: {record.connected_customer.name} — {role}{percentage} "
        f"of {record.customer.name}"
    )


def connection_history_rows(
    request: HttpRequest,
    customer: Customer,
    since: datetime.datetime | None,
    before: datetime.datetime | None,
) -> list[HistoryRow]:
    """The history of the connections held in `customer` and of those it holds in
    others, from `since` (inclusive) to `before` (exclusive), as history page rows."""
    records = tenant_rows(
        request,
        Connection.history.filter(
            Q(customer_id=customer.pk) | Q(connected_customer_id=customer.pk)
        ).select_related("customer", "connected_customer", "history_user", "history_api_key"),
    )
    if since is not None:
        records = records.filter(history_date__gte=since)
    if before is not None:
        records = records.filter(history_date__lt=before)
    shown = list(records.order_by("-history_date", "-history_id"))
    previous = _previous_records(request, shown)
    rows = []
    for record in shown:
        try:
            url: str | None = reverse(
                "admin:relations_connection_simple_history", args=[record.id, record.history_id]
            )
        except NoReverseMatch:
            url = None
        rows.append(
            HistoryRow(
                date=record.history_date,
                subject=connection_label(record),
                subject_url=url,
                action=ACTIONS.get(record.history_type, record.history_type),
                actor=record_actor(record, request),
                channel=channel_words(record),
                reason=record.history_change_reason or "",
                columns=[],
                changes=changes_between(record, previous.get(record.history_id)),
                related=True,
            )
        )
    return rows


def _previous_records(request: HttpRequest, records: list[Any]) -> dict[int, Any]:
    """The record before each of `records` of the same connection (by history_id),
    read in one query rather than one per row."""
    if not records:
        return {}
    history = tenant_rows(
        request,
        Connection.history.filter(
            id__in={r.id for r in records},
            history_date__lte=max(r.history_date for r in records),
        ).select_related("customer", "connected_customer"),
    ).order_by("id", "history_date", "history_id")
    previous: dict[int, Any] = {}
    last: dict[int, Any] = {}
    for record in history:
        previous[record.history_id] = last.get(record.id)
        last[record.id] = record
    return previous


class ConnectionInlineBase(TenantInline):
    model = Connection
    extra = 0
    show_change_link = True
    form = ConnectionRowForm
    # Rows titled in words ("Jane Doe — Shareholder 60%"), not by database ids.
    template = "admin/customers/customer/connection_tabular.html"

    def service_save_row(self, instance: Connection) -> None:
        connection_save(connection=instance)

    def service_delete_row(self, instance: Connection) -> None:
        connection_remove(connection=instance)


class HeldConnectionsInline(ConnectionInlineBase):
    """Roles held in this customer (its directors, shareholders, …)."""

    fk_name = "customer"
    fields = ("connected_customer", *CONNECTION_FIELDS)
    autocomplete_fields = ("connected_customer",)
    form = HeldConnectionRowForm
    verbose_name = "connection (held in this customer)"
    verbose_name_plural = "Connections (held in this customer)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("connected_customer")


class ConnectedToInline(ConnectionInlineBase):
    """Roles this customer holds in others (director of, shareholder of, …)."""

    fk_name = "connected_customer"
    fields = ("customer", *CONNECTION_FIELDS)
    autocomplete_fields = ("customer",)
    form = ConnectedToRowForm
    verbose_name = "connected to"
    verbose_name_plural = "Connected to"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("customer")


class RiskLevelFilter(admin.SimpleListFilter):
    title = "risk level"
    parameter_name = "risk"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(level, level) for level in RiskLevel.values]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() not in RiskLevel.values:
            return queryset
        return queryset.filter(risk_level=self.value())


@admin.register(Customer)
class CustomerAdmin(
    CustomerChangePageMixin,
    CustomerRiskAdminMixin,
    TenantHistoryMixin,
    TenantModelAdmin,
    SimpleHistoryAdmin,
):
    form = CustomerAdminForm
    list_display = (
        "reference_id",
        "name_line",
        "type_name",
        "status_badge",
        "risk_badge",
        "onboarding_badge",
        "review_badge",
        "country",
        "last_screened",
    )
    list_display_links = ("reference_id", "name_line")
    list_filter = (
        "account_type",
        "status",
        RiskLevelFilter,
        "onboarding_status",
        "needs_review",
        "monitored",
        "country",
        ("created_at", DateRangeFilter),
        BulkUploadFilter,  # shown only in use: linked from a finished bulk upload
    )
    # One folded column (customers.text.fold): accent- and case-insensitive search on
    # name, referenceId, client number, identification numbers and email.
    search_fields = ("search_text",)
    search_help_text = "Name, referenceId, client number, identification number or email."
    list_select_related = ("organisation",)
    list_per_page = 50
    readonly_fields = (
        "client_number",
        "onboarding_status",
        "needs_review",
        "review_reason",
        "risk_score",
        "risk_level",
        *RISK_READONLY,
        "last_ip_address",
        "last_user_agent",
        "usual_user_agent",
        "last_screening_date",
        "created_at",
        "updated_at",
    )
    # The change page's sections and form: customers.admin_change_page.
    inlines = (HeldConnectionsInline, ConnectedToInline, SessionInline)
    actions = (
        "approve_selected",
        "reject_selected",
        "deactivate_selected",
        "recalculate_risk",
        "export_xlsx",
        "export_csv",
    )
    history_list_display = ("status", "onboarding_status", "history_channel", "history_api_key")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # A person's connections would become invalid if it turned into a company.
            readonly.append("account_type")
        return readonly

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # nothing of a compliance record is erased: deactivate instead

    # --- the list -----------------------------------------------------------------

    @admin.display(description="name", ordering="name")
    def name_line(self, obj: Customer) -> str:
        return format_html('<span class="one-line" title="{}">{}</span>', obj.name, obj.name)

    @admin.display(description="type", ordering="account_type")
    def type_name(self, obj: Customer) -> str:
        return obj.get_account_type_display()

    @admin.display(description="last screened", ordering="last_screening_date")
    def last_screened(self, obj: Customer) -> str:
        when = obj.last_screening_date
        return formats.date_format(timezone.localtime(when), "SHORT_DATE_FORMAT") if when else EMPTY

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Customer) -> str:
        return badge(obj.get_status_display(), STATUS_COLOURS.get(obj.status, "grey"))

    @admin.display(description="risk", ordering="risk_score")
    def risk_badge(self, obj: Customer) -> str:
        if not obj.risk_level:
            return EMPTY
        return format_html(
            '<span class="risk-badge risk-{}">{} ({})</span>',
            RISK_CLASSES[obj.risk_level],
            obj.risk_level,
            obj.risk_score,
        )

    @admin.display(description="onboarding", ordering="onboarding_status")
    def onboarding_badge(self, obj: Customer) -> str:
        status = obj.onboarding_status
        return badge(obj.get_onboarding_status_display(), ONBOARDING_COLOURS.get(status, "grey"))

    @admin.display(description="review", ordering="needs_review")
    def review_badge(self, obj: Customer) -> str:
        # Shown only when true: an officer scans for the exceptions.
        return badge("Needs review", "red") if obj.needs_review else ""

    # --- exports (reads: logged, not audited as changes) ---------------------------

    @admin.action(description="Export selected customers to Excel", permissions=["view"])
    def export_xlsx(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse:
        return self._export(request, queryset, export_xlsx, "Excel")

    @admin.action(description="Export selected customers to CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse:
        return self._export(request, queryset, export_csv, "CSV")

    def _export(
        self, request: HttpRequest, queryset: QuerySet[Any], export: Any, kind: str
    ) -> HttpResponse:
        filename = f"customers-{timezone.localtime():%Y%m%d-%H%M}"
        response, count = export(queryset, filename)
        organisation = user_organisation(request.user)
        logger.info(
            "customers exported: user=%s organisation=%s format=%s rows=%d",
            request.user.get_username(),
            organisation.slug if organisation else "(all: superuser)",
            kind,
            count,
        )
        return response

    # --- history: the customer's own records and those of its connections ----------

    def related_history_rows(
        self,
        request: HttpRequest,
        obj: Any,
        since: datetime.datetime | None,
        before: datetime.datetime | None,
    ) -> Iterable[HistoryRow]:
        return connection_history_rows(request, obj, since, before)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        for word in fold(search_term).split():
            queryset = queryset.filter(search_text__contains=word)
        return queryset, False

    @admin.display(description="risk level")
    def risk_level(self, obj: Customer) -> str:
        return obj.risk_score_name or "-"

    def service_save(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        customer_save(customer=obj)

    def _bulk(self, request: HttpRequest, queryset: QuerySet[Any], service: Any, done: str) -> None:
        succeeded, failed = 0, []
        with admin_audit(request):
            for customer in queryset.select_related("organisation"):
                try:
                    service(customer=customer)
                    succeeded += 1
                except ValidationError as exc:
                    failed.append(f"{customer.reference_id}: {'; '.join(exc.messages)}")
        if succeeded:
            self.message_user(request, f"{succeeded} customer(s) {done}.", messages.SUCCESS)
        for failure in failed:
            self.message_user(request, failure, messages.ERROR)

    def has_approve_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.approve_customer")

    @admin.action(description="Approve selected customers (KYB checks)", permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._bulk(request, queryset, customer_approve, "approved")

    @admin.action(description="Reject selected customers", permissions=["approve"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._bulk(request, queryset, customer_reject, "rejected")

    @admin.action(description="Deactivate selected customers", permissions=["change"])
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._bulk(request, queryset, customer_deactivate, "deactivated")


class FieldDefinitionAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    choices = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For choice fields: one choice per line.",
    )

    class Meta:
        model = CustomerFieldDefinition
        fields = ("organisation", "key", "name", "field_type", "required", "choices")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.choices:
            self.initial["choices"] = "\n".join(self.instance.choices)

    def clean_choices(self) -> list[str]:
        raw = self.cleaned_data.get("choices") or ""
        return [line.strip() for line in raw.splitlines() if line.strip()]

    def _post_clean(self) -> None:
        # The service validates (key format, reserved keys, choices): copy the values
        # onto the instance without the model's full_clean, so each rule has one home.
        opts = self._meta
        self.instance = construct_instance(self, self.instance, opts.fields, opts.exclude)


@admin.register(CustomerFieldDefinition)
class FieldDefinitionAdmin(TenantHistoryMixin, TenantModelAdmin, SimpleHistoryAdmin):
    form = FieldDefinitionAdminForm
    list_display = ("key", "name", "field_type", "required", "choice_list", "updated_at")
    list_filter = ("field_type", "required")
    search_fields = ("key", "name")
    list_select_related = ("organisation",)
    readonly_fields = ("created_at", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly += ["key", "field_type"]  # stored values are keyed and typed by them
        return readonly

    @admin.display(description="choices")
    def choice_list(self, obj: CustomerFieldDefinition) -> str:
        return ", ".join(obj.choices or []) or "-"

    def service_save(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data: dict[str, Any] = {
            "name": form.cleaned_data["name"],
            "required": form.cleaned_data["required"],
        }
        if obj.field_type == FieldType.CHOICE or form.cleaned_data.get("choices"):
            data["choices"] = form.cleaned_data.get("choices") or []
        if change:
            saved = field_definition_update(definition=obj, data=data)
        else:
            data |= {"key": obj.key, "type": obj.field_type}
            saved = field_definition_create(organisation=obj.organisation, data=data)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def service_delete(self, request: HttpRequest, obj: Any) -> None:
        field_definition_delete(definition=obj)


__all__ = ["AccountType", "CustomerAdmin", "FieldDefinitionAdmin"]
