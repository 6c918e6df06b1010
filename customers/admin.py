"""Back-office for customers and field definitions. Writes go through
customers.services and relations.services; tenancy comes from kycregistry.admin."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import construct_instance
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from customers.admin_change_page import CustomerChangePageMixin
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
    FieldType,
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
from kyc.admin import RISK_READONLY, CustomerRiskAdminMixin, SessionInline
from kycregistry.admin import (
    TenantHistoryMixin,
    TenantInline,
    TenantModelAdmin,
    admin_audit,
)
from onboarding.services import customer_approve, customer_reject
from relations.models import Connection
from relations.services import connection_remove, connection_save

CONNECTION_FIELDS = ("role", "ownership_percentage", "valid_from", "valid_to")


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
        "name",
        "account_type",
        "status",
        "risk_level_badge",
        "onboarding_status",
        "needs_review",
        "created_at",
    )
    list_display_links = ("reference_id", "name")
    list_filter = (
        "account_type",
        "status",
        RiskLevelFilter,
        "onboarding_status",
        "needs_review",
        "monitored",
        "country",
    )
    # One folded column (customers.text.fold): accent- and case-insensitive search on
    # name, referenceId, client number, identification numbers and email.
    search_fields = ("search_text",)
    search_help_text = "Name, referenceId, client number, identification number or email."
    list_select_related = ("organisation",)
    list_per_page = 50
    date_hierarchy = "created_at"
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
    actions = ("approve_selected", "reject_selected", "deactivate_selected", "recalculate_risk")
    history_list_display = ("status", "onboarding_status", "history_channel", "history_api_key")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # A person's connections would become invalid if it turned into a company.
            readonly.append("account_type")
        return readonly

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # nothing of a compliance record is erased: deactivate instead

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
