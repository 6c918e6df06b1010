"""The customer change page: sections, the typed form (customers.admin_forms), the
KYB checklist with Approve / Reject, the shareholding total and the error summary.

A mixin of `CustomerAdmin`, which keeps the list (columns, filters, actions); every
write here goes through the onboarding and customer services, audited as the admin."""

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from customers.admin_forms import (
    ADDRESS_FIELDS,
    REGION_FIELD,
    REGION_OTHER_FIELD,
    custom_field_name,
    customer_form_class,
    identification_field,
    identification_rows,
    identity_fields,
)
from customers.models import Customer, CustomerFieldDefinition
from kycregistry.admin import admin_audit, is_superuser, user_organisation
from onboarding.checklist import failures_in_words, kyb_checklist
from onboarding.kyb import KybConstraintsFailed
from onboarding.services import customer_approve, customer_reject
from relations.models import Connection, Role
from relations.ownership import format_percentage, valid_on

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin as _Base
else:
    _Base = object

PAGE_READONLY = (
    "kyb_checklist_preview",
    "shareholding_total",
    "history_link",
    "custom_fields_table",
)


class CustomerChangePageMixin(_Base):
    change_form_template = "admin/customers/customer/change_form.html"

    class Media:
        css = {"all": ("css/customer-form.css",)}
        js = ("js/customer-form.js",)

    # --- the form ------------------------------------------------------------------------

    def _definitions(self, request: HttpRequest, obj: Customer | None) -> list[Any]:
        organisation_id = obj.organisation_id if obj is not None else None
        if organisation_id is None and not is_superuser(request):
            organisation = user_organisation(request.user)
            organisation_id = organisation.pk if organisation else None
        if organisation_id is None:
            return []
        return list(
            CustomerFieldDefinition.objects.filter(organisation_id=organisation_id).order_by(
                "name", "key"
            )
        )

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        if not hasattr(request, "_customer_form_class"):
            request._customer_form_class = customer_form_class(  # type: ignore[attr-defined]
                identification_count=identification_rows(obj),
                definitions=self._definitions(request, obj),
            )
        kwargs["form"] = request._customer_form_class  # type: ignore[attr-defined]
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, *(name for name in PAGE_READONLY if name not in readonly)]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        account_type = obj.account_type if obj is not None else None
        form = getattr(request, "_customer_form_class", None) or customer_form_class(
            identification_count=identification_rows(obj),
            definitions=self._definitions(request, obj),
        )
        request._customer_form_class = form  # type: ignore[attr-defined]
        identity = identity_fields(account_type)
        rows = [
            tuple(identification_field(index, suffix) for suffix in SUFFIXES)
            for index in range(form.identification_count)
        ]
        custom = [custom_field_name(d.key) for d in form.definitions]
        fieldsets: list[tuple[str | None, dict[str, Any]]] = [
            (
                "Identity",
                {
                    "classes": ("section-identity",),
                    "fields": [
                        "organisation",
                        ("reference_id", "client_number"),
                        "name",
                        ("account_type", "status"),
                        "external_id",
                        *_identity_rows(identity),
                        "country",
                    ],
                },
            ),
            (
                "Identifications",
                {
                    "classes": ("section-identifications",),
                    "description": "One row per document; fill the empty row to add one, "
                    "clear a row's type and number to remove it.",
                    "fields": rows,
                },
            ),
            (
                "Profile",
                {
                    "classes": ("section-profile",),
                    "fields": [
                        ("address_street", "address_house_number"),
                        "address_refinement",
                        ("address_postal_code", "address_city"),
                        ("address_country", REGION_FIELD, REGION_OTHER_FIELD),
                        ("phone", "email"),
                    ],
                },
            ),
            (
                "Custom fields",
                {
                    "classes": ("section-custom",),
                    "fields": [*custom, "custom_fields_table"],
                },
            ),
            (
                "Onboarding and KYB",
                {
                    "classes": ("section-onboarding",),
                    "fields": [
                        ("onboarding_status", "needs_review"),
                        "review_reason",
                        "kyb_checklist_preview",
                    ],
                },
            ),
            (
                "Connections",
                {"classes": ("section-connections",), "fields": ["shareholding_total"]},
            ),
            (
                "Risk and screening",
                {
                    "classes": ("section-risk",),
                    "fields": [
                        "risk_level_badge",
                        "risk_factors_table",
                        ("monitored", "last_screening_date"),
                    ],
                },
            ),
            (
                "Sessions",
                {
                    "classes": ("collapse", "section-sessions"),
                    "fields": ["last_ip_address", "last_user_agent", "usual_user_agent"],
                },
            ),
            (
                "Record",
                {
                    "classes": ("section-record",),
                    "fields": [("created_at", "updated_at"), "history_link"],
                },
            ),
        ]
        if obj is None:
            # Nothing to show before the customer exists.
            fieldsets = [f for f in fieldsets if f[0] not in ("Onboarding and KYB", "Connections")]
        if not is_superuser(request):
            fieldsets = [
                (name, {**options, "fields": [f for f in options["fields"] if f != "organisation"]})
                for name, options in fieldsets
            ]
        return [(name, options) for name, options in fieldsets if options["fields"]]

    # --- read-only parts ------------------------------------------------------------------

    def custom_fields_table(self, obj: Customer) -> str:
        """Stored values whose definition was deleted: kept, shown, not editable."""
        defined = set(
            CustomerFieldDefinition.objects.filter(organisation_id=obj.organisation_id).values_list(
                "key", flat=True
            )
        )
        orphans = sorted((k, v) for k, v in (obj.custom_fields or {}).items() if k not in defined)
        if not orphans:
            return "—"
        rows = format_html_join(
            "", "<tr><th><code>{}</code></th><td>{}</td></tr>", ((k, _shown(v)) for k, v in orphans)
        )
        return format_html('<table class="orphan-values">{}</table>', rows)

    custom_fields_table.short_description = "values without a definition"  # type: ignore[attr-defined]

    def kyb_checklist_preview(self, obj: Customer) -> str:
        if obj.pk is None:
            return "—"
        checklist = kyb_checklist(customer=obj)
        if not checklist.applies:
            return "Persons are approved without KYB constraints."
        items = format_html_join(
            "",
            '<li class="{}">{}</li>',
            (("check-ok" if i.ok else "check-fail", str(i)) for i in checklist.items),
        )
        warnings = format_html_join(
            "",
            '<li class="check-warning">⚠ {}</li>',
            ((message,) for message in checklist.discrepancies),
        )
        return format_html('<ul class="kyb-checklist">{}{}</ul>', items, warnings)

    kyb_checklist_preview.short_description = "KYB checklist"  # type: ignore[attr-defined]

    def shareholding_total(self, obj: Customer) -> str:
        if obj.pk is None:
            return "—"
        total = (
            Connection.objects.filter(customer=obj, role=Role.SHAREHOLDER)
            .filter(valid_on(timezone.localdate()))
            .aggregate(total=Sum("ownership_percentage"))["total"]
        )
        figure = format_percentage(Decimal(str(total or 0)))
        try:
            url = reverse("admin:customer-structure", args=[obj.pk])
        except NoReverseMatch:
            return f"{figure}%"
        return format_html('{}% <a href="{}">Ownership structure</a>', figure, url)

    shareholding_total.short_description = "direct shareholdings total"  # type: ignore[attr-defined]

    def history_link(self, obj: Customer) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("admin:customers_customer_history", args=[obj.pk])
        return format_html('<a href="{}">History of changes</a>', url)

    history_link.short_description = "history"  # type: ignore[attr-defined]

    # --- approve / reject on the page -----------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<path:object_id>/approve/",
                self.admin_site.admin_view(require_POST(self.approve_view)),
                name="customers_customer_approve",
            ),
            path(
                "<path:object_id>/reject/",
                self.admin_site.admin_view(require_POST(self.reject_view)),
                name="customers_customer_reject",
            ),
        ]
        return [*own, *super().get_urls()]

    def _decide(self, request: HttpRequest, object_id: str, approve: bool) -> HttpResponse:
        customer = self.get_object(request, unquote(object_id))
        if customer is None:
            raise Http404("No such customer.")
        if not self.has_approve_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        change_url = reverse("admin:customers_customer_change", args=[customer.pk])
        try:
            with admin_audit(request):
                if approve:
                    customer_approve(customer=customer)
                else:
                    customer_reject(customer=customer)
        except KybConstraintsFailed as exc:
            words = failures_in_words(customer=customer, failures=exc.failures)
            self.message_user(request, words, messages.ERROR)
            return HttpResponseRedirect(change_url)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(change_url)
        done = "approved" if approve else "rejected"
        self.message_user(request, f"{customer.name} {done}.", messages.SUCCESS)
        return HttpResponseRedirect(change_url)

    def approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._decide(request, object_id, approve=True)

    def reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._decide(request, object_id, approve=False)

    # --- the page ------------------------------------------------------------------------

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> TemplateResponse:
        context["error_summary"] = error_summary(
            context["adminform"].form, context.get("inline_admin_formsets", [])
        )
        context["can_decide"] = obj is not None and self.has_approve_permission(request)  # type: ignore[attr-defined]
        return super().render_change_form(request, context, add, change, form_url, obj)  # type: ignore[return-value]


SUFFIXES = ("type", "number", "issuing_country", "issue_date", "expiration_date")


def _identity_rows(identity: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [identity[i : i + 3] for i in range(0, len(identity), 3)]


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return "—" if value is None else str(value)


def error_summary(form: Any, inline_formsets: Any) -> list[dict[str, str]]:
    """Each error of the page: the field's label (and the inline row's title), the
    message and the anchor of the field or row."""
    summary = []
    for name, errors in form.errors.items():
        if name == "__all__":
            summary += [{"label": "", "message": m, "anchor": "customer_form"} for m in errors]
            continue
        bound = form[name] if name in form.fields else None
        label = str(bound.label) if bound is not None else name
        anchor = bound.id_for_label if bound is not None else "customer_form"
        summary += [{"label": label, "message": m, "anchor": anchor} for m in errors]
    for inline in inline_formsets:
        formset = inline.formset
        heading = str(formset.model._meta.verbose_name_plural)
        title_of = str(inline.opts.verbose_name_plural)
        for row in formset.forms:
            if not row.errors:
                continue
            title = getattr(row, "title", "") or title_of
            for name, errors in row.errors.items():
                label = str(row[name].label) if name in row.fields else ""
                where = f"{title_of}: {title}" + (f" — {label}" if label else "")
                summary += [
                    {"label": where, "message": m, "anchor": row.prefix, "row": "1"} for m in errors
                ]
        for message in formset.non_form_errors():
            summary.append({"label": heading, "message": message, "anchor": formset.prefix})
    return summary


__all__ = ["ADDRESS_FIELDS", "CustomerChangePageMixin", "error_summary"]
