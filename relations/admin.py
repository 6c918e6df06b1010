"""Back-office for connections: list, filters, history. Writes go through
relations.services (the same connection rules as the API)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from customers.text import fold
from kycregistry.admin import TenantHistoryMixin, TenantModelAdmin
from kycregistry.admin_site import register_pages
from relations.admin_views import ownership_admin_urls
from relations.models import Connection
from relations.services import connection_remove, connection_save


@admin.register(Connection)
class ConnectionAdmin(TenantHistoryMixin, TenantModelAdmin, SimpleHistoryAdmin):
    list_display = (
        "connection",
        "customer",
        "role",
        "connected_customer",
        "ownership_percentage",
        "valid_from",
        "valid_to",
        "created_at",
    )
    list_display_links = ("connection",)
    list_filter = ("role", "valid_to", "created_at")
    search_fields = ("customer__search_text", "connected_customer__search_text")
    search_help_text = "Name or referenceId of either customer."
    list_select_related = ("customer", "connected_customer", "organisation")
    autocomplete_fields = ("customer", "connected_customer")
    fields = (
        "customer",
        "connected_customer",
        "role",
        "ownership_percentage",
        "valid_from",
        "valid_to",
        "created_at",
        "updated_at",
    )
    readonly_fields = ("created_at", "updated_at")
    history_list_display = ("role", "ownership_percentage", "history_channel", "history_api_key")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly.append("customer")  # a connection belongs to its customer
        return readonly

    @admin.display(description="connection", ordering="id")
    def connection(self, obj: Connection) -> str:
        return f"{obj.connected_customer.name} is {obj.get_role_display()} of {obj.customer.name}"

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> Any:
        return super().get_search_results(request, queryset, fold(search_term))

    def service_save(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        connection_save(connection=obj)

    def service_delete(self, request: HttpRequest, obj: Any) -> None:
        connection_remove(connection=obj)


register_pages("customers/customer/", ownership_admin_urls)
