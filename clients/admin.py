"""Back-office of the client API's own rows: portal users (listed, disabled and enabled
here; they never reach the admin themselves) and service providers' records. Both are
made through the API; the admin writes only through clients.services."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from clients.models import PortalUser, ServiceProviderRecord
from clients.services import portal_user_set_active
from kycregistry.admin import TenantHistoryMixin, TenantModelAdmin, admin_audit


@admin.register(PortalUser)
class PortalUserAdmin(TenantHistoryMixin, TenantModelAdmin, SimpleHistoryAdmin):
    list_display = ("email", "customer", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("email", "customer__name", "customer__reference_id")
    list_select_related = ("customer",)
    readonly_fields = ("email", "customer", "active", "public_id", "created_at")
    fields = readonly_fields
    actions = ("disable_selected", "enable_selected")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # made by the API's createUser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # disabled, never erased

    def _set_active(self, request: HttpRequest, queryset: QuerySet[Any], active: bool) -> None:
        with admin_audit(request):
            for user in queryset:
                portal_user_set_active(user=user, active=active)
        verb = "enabled" if active else "disabled"
        self.message_user(request, f"{queryset.count()} portal user(s) {verb}.", messages.SUCCESS)

    @admin.action(description="Disable selected portal users", permissions=["change"])
    def disable_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._set_active(request, queryset, active=False)

    @admin.action(description="Enable selected portal users", permissions=["change"])
    def enable_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._set_active(request, queryset, active=True)


@admin.register(ServiceProviderRecord)
class ServiceProviderRecordAdmin(TenantHistoryMixin, TenantModelAdmin, SimpleHistoryAdmin):
    """Loaded with `POST /api/v1/service-providers/{name}/records`; read here."""

    list_display = ("service_provider", "source_id", "customer", "connected_at")
    list_filter = ("service_provider",)
    search_fields = ("source_id", "customer__reference_id")
    list_select_related = ("customer",)
    readonly_fields = (
        "service_provider",
        "source_id",
        "client",
        "customer",
        "connection_id",
        "connected_at",
        "created_at",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
