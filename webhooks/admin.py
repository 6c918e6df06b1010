"""Back-office for webhook endpoints and their delivery log.

An endpoint's secret is shown once, on the page after it is created or rotated (the
page itself, never a message stored in the session), like an API key.
"""

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from kycregistry.admin import TenantHistoryMixin, TenantModelAdmin, admin_audit
from webhooks.models import ALL_EVENTS, Delivery, Endpoint
from webhooks.services import (
    SUBSCRIBABLE,
    delivery_retry,
    endpoint_create,
    endpoint_delete,
    endpoint_ping,
    endpoint_rotate_secret,
    endpoint_update,
)

EVENT_CHOICES = [(ALL_EVENTS, "* (every event type)"), *[(t, t) for t in SUBSCRIBABLE]]


class EndpointForm(forms.ModelForm):  # type: ignore[type-arg]
    events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple, initial=[ALL_EVENTS]
    )

    class Meta:
        model = Endpoint
        fields = (
            "organisation",
            "url",
            "events",
            "description",
            "enabled",
            "include_import_events",
        )


@admin.register(Endpoint)
class EndpointAdmin(TenantHistoryMixin, TenantModelAdmin, SimpleHistoryAdmin):
    form = EndpointForm
    list_display = ("url", "event_list", "enabled", "disabled_reason", "created_at")
    list_filter = ("enabled",)
    search_fields = ("url", "description")
    list_select_related = ("organisation",)
    readonly_fields = ("disabled_reason", "created_at", "updated_at", "delivery_log")
    actions = ("rotate_secret", "send_test_ping")
    history_list_display = ("url", "enabled", "history_channel")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = [f for f in super().get_fields(request, obj) if f in EndpointForm.Meta.fields]
        return fields if obj is None else [*fields, *self.readonly_fields]

    @admin.display(description="events")
    def event_list(self, obj: Endpoint) -> str:
        return ", ".join(obj.events)

    @admin.display(description="deliveries")
    def delivery_log(self, obj: Endpoint) -> str:
        return format_html(
            '<a href="../../../delivery/?endpoint__id__exact={}">Delivery log</a>', obj.pk
        )

    def service_save(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = {
            "url": form.cleaned_data["url"],
            "events": list(form.cleaned_data["events"]),
            "description": form.cleaned_data.get("description") or "",
            "enabled": form.cleaned_data.get("enabled", True),
            "includeImportEvents": form.cleaned_data.get("include_import_events", False),
        }
        if change:
            endpoint_update(endpoint=obj, data=data)
            return
        if obj.organisation_id is None:
            raise ValidationError({"organisation": ["Choose the endpoint's organisation."]})
        endpoint, secret = endpoint_create(organisation=obj.organisation, data=data)
        obj.pk = endpoint.pk
        obj.refresh_from_db()
        request._webhook_secret = secret  # type: ignore[attr-defined]

    def service_delete(self, request: HttpRequest, obj: Any) -> None:
        endpoint_delete(endpoint=obj)

    def _secret_page(
        self, request: HttpRequest, endpoint: Endpoint, secret: str, title: str
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "endpoint": endpoint,
            "secret": secret,
        }
        response = TemplateResponse(request, "admin/webhooks/endpoint/secret.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: str | None = None
    ) -> HttpResponse:
        secret = getattr(request, "_webhook_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return self._secret_page(request, obj, secret, "Webhook endpoint created")

    @admin.action(description="Rotate the secret (old one valid 24 h more)", permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        if queryset.count() != 1:
            self.message_user(request, "Rotate one endpoint at a time.", messages.WARNING)
            return None
        endpoint = queryset.get()
        with admin_audit(request):
            secret = endpoint_rotate_secret(endpoint=endpoint)
        return self._secret_page(request, endpoint, secret, "Webhook secret rotated")

    @admin.action(description="Send a test ping", permissions=["change"])
    def send_test_ping(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        count = 0
        with admin_audit(request):
            for endpoint in queryset:
                endpoint_ping(endpoint=endpoint)
                count += 1
        self.message_user(request, f"Test ping queued for {count} endpoint(s).", messages.SUCCESS)


class EndpointFilter(admin.SimpleListFilter):
    """The endpoints of the user's organisation only (the default filter would list
    every tenant's)."""

    title = "endpoint"
    parameter_name = "endpoint__id__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        endpoints = EndpointAdmin(Endpoint, model_admin.admin_site).get_queryset(request)
        return [(str(e.pk), e.url) for e in endpoints.order_by("url")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(endpoint_id=self.value())
        return queryset


@admin.register(Delivery)
class DeliveryAdmin(TenantModelAdmin):
    list_display = (
        "webhook_id",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_response_status",
        "created_at",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "event_type", EndpointFilter, "created_at")
    search_fields = ("webhook_id", "body")
    list_select_related = ("endpoint", "organisation")
    actions = ("retry_selected",)
    fields = (
        "webhook_id",
        "endpoint",
        "event_type",
        "status",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "last_response_status",
        "last_error",
        "last_response_body",
        "created_at",
        "delivered_at",
        "pretty_payload",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Viewable, never edited: the retry action is the only write.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return bool(
            self._tenant_allows(request, None) and request.user.has_perm("webhooks.change_endpoint")  # type: ignore[union-attr]
        )

    @admin.display(description="payload")
    def pretty_payload(self, obj: Delivery) -> str:
        text = json.dumps(obj.payload, indent=2, ensure_ascii=False)
        return format_html('<pre class="webhook-payload">{}</pre>', text)

    @admin.action(description="Retry selected deliveries now", permissions=["retry"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        count = 0
        with admin_audit(request):
            for delivery in queryset:
                delivery_retry(delivery=delivery)
                count += 1
        self.message_user(request, f"{count} delivery(ies) queued again.", messages.SUCCESS)
