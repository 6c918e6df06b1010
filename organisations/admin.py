"""Back-office for organisations, memberships (superusers) and API keys (per tenant).

An API key is shown exactly once: the add view answers with a page that holds the raw
key (not a message, which would sit in the session), and nothing stores it.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from simple_history.admin import SimpleHistoryAdmin

from kycregistry.admin import (
    TenantHistoryMixin,
    TenantModelAdmin,
    TenantScopedMixin,
    admin_audit,
    is_superuser,
    user_organisation,
)
from kycregistry.admin_history import ReadableHistoryMixin
from organisations.models import ApiKey, Membership, Organisation, Scope
from organisations.services import api_key_create, api_key_revoke


class SuperuserOnlyMixin:
    """Tenants are managed by superusers only. Memberships (tenant-owned) are scoped
    like every tenant-owned admin too, should a staff user ever be let in."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)


class MembershipInline(SuperuserOnlyMixin, TenantScopedMixin, admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Organisation)
class OrganisationAdmin(SuperuserOnlyMixin, ReadableHistoryMixin, SimpleHistoryAdmin):  # type: ignore[type-arg]
    list_display = ("name", "slug", "ownership_threshold", "reject_unknown_fields", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("id", "created_at")
    inlines = (MembershipInline,)
    fieldsets = (
        (None, {"fields": ("id", "name", "slug", "created_at")}),
        (
            "Rules",
            {
                "fields": (
                    "ownership_threshold",
                    "reject_unknown_fields",
                    "kyb_min_shareholders",
                    "kyb_min_authorized_persons",
                    "kyb_min_total_shareholding",
                )
            },
        ),
    )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with admin_audit(request):
            super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        with admin_audit(request):
            super().save_formset(request, form, formset, change)


@admin.register(Membership)
class MembershipAdmin(
    SuperuserOnlyMixin, TenantScopedMixin, ReadableHistoryMixin, SimpleHistoryAdmin
):
    list_display = ("user", "organisation")
    list_select_related = ("user", "organisation")
    list_filter = ("organisation",)
    search_fields = ("user__username", "user__email", "organisation__name")
    autocomplete_fields = ("user", "organisation")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with admin_audit(request):
            super().save_model(request, obj, form, change)


class ApiKeyCreateForm(forms.ModelForm):  # type: ignore[type-arg]
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[Scope.KYC_READ],
        help_text="kyc:read for GET, kyc:create for POST/PUT/PATCH, kyc:delete for DELETE.",
    )

    class Meta:
        model = ApiKey
        fields = ("organisation", "name", "scopes")


@admin.register(ApiKey)
class ApiKeyAdmin(TenantHistoryMixin, TenantModelAdmin, SimpleHistoryAdmin):
    list_display = (
        "name",
        "prefix",
        "scope_list",
        "created_at",
        "last_used_at",
        "revoked_at",
        "is_active",
    )
    list_filter = ("revoked_at", "created_at")
    search_fields = ("name", "prefix")
    list_select_related = ("organisation",)
    actions = ("revoke_selected",)
    readonly_fields = (
        "organisation",
        "name",
        "prefix",
        "scope_list",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    history_list_display = ("revoked_at", "history_channel")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):  # type: ignore[no-untyped-def]
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None:
            return self.readonly_fields
        return ("organisation", "name", "scopes") if is_superuser(request) else ("name", "scopes")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # keys are revoked, never deleted: history names them

    @admin.display(description="active", boolean=True)
    def is_active(self, obj: ApiKey) -> bool:
        return obj.is_active

    @admin.display(description="scopes")
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes)

    def service_save(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            return  # nothing of a key is editable; revoke it instead
        organisation = obj.organisation if obj.organisation_id else user_organisation(request.user)
        if organisation is None:
            raise ValidationError({"organisation": ["Choose the key's organisation."]})
        api_key, raw_key = api_key_create(
            organisation=organisation, scopes=form.cleaned_data["scopes"], name=obj.name
        )
        obj.pk = api_key.pk
        obj.refresh_from_db()
        request._raw_api_key = raw_key  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: str | None = None
    ) -> HttpResponse:
        raw_key = getattr(request, "_raw_api_key", None)
        if raw_key is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": "API key created",
            "opts": self.opts,
            "api_key": obj,
            "raw_key": raw_key,
        }
        response = TemplateResponse(request, "admin/organisations/apikey/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        count = 0
        with admin_audit(request):
            for api_key in queryset.filter(revoked_at__isnull=True):
                api_key_revoke(api_key=api_key)
                count += 1
        self.message_user(request, f"{count} API key(s) revoked.", messages.SUCCESS)


__all__ = ["ApiKeyAdmin", "MembershipAdmin", "OrganisationAdmin"]
