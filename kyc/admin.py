"""Back-office for sessions, risk rules and the risk parts of the customer page.
Writes go through kyc.services; tenancy comes from kycregistry.admin.

`CustomerRiskAdminMixin`, `SessionInline` and RISK_READONLY are what customers.admin
adds to its CustomerAdmin: the coloured level, the factors, the sessions and the
"Recalculate risk" action."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from customers.models import Customer, RiskLevel
from kyc.models import RiskRules, Session
from kyc.rules import DEFAULT_RULES, POINT_KEYS, clean_rules
from kyc.scoring import levels_preview, rules_in_force
from kyc.selectors import risk_rules_current
from kyc.services import customer_rescore, risk_rules_replace
from kycregistry.admin import (
    TenantHistoryMixin,
    TenantInline,
    TenantModelAdmin,
    admin_audit,
    user_organisation,
)
from kycregistry.numbers import ascii_int

RISK_CLASSES: dict[str, str] = {
    RiskLevel.LOW: "low",
    RiskLevel.MEDIUM: "medium",
    RiskLevel.HIGH: "high",
}
RISK_READONLY = ("risk_level_badge", "risk_factors_table")


def risk_badge(customer: Customer) -> str:
    level = customer.risk_level
    if not level:
        return "-"
    # Coloured by static/css/admin.css: the CSP refuses inline styles.
    return format_html(
        '<span class="risk-badge risk-{}">{} ({})</span>',
        RISK_CLASSES[level],
        level,
        customer.risk_score,
    )


class CustomerRiskAdminMixin:
    """The risk column, the factors and the recalculation action of CustomerAdmin."""

    @admin.display(description="risk", ordering="risk_score")
    def risk_level_badge(self, obj: Customer) -> str:
        return risk_badge(obj)

    @admin.display(description="risk factors")
    def risk_factors_table(self, obj: Customer) -> str:
        factors = obj.risk_factors or []
        if not factors:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            ((f["code"], f["description"], f["points"]) for f in factors),
        )
        return format_html(
            '<table class="risk-factors"><tr><th>factor</th><th>why</th><th>points</th></tr>'
            "{}<tr><th></th><th>score (rules v{}, {})</th><th>{}</th></tr></table>",
            rows,
            obj.risk_rules_version,
            obj.risk_calculated_at.strftime("%Y-%m-%d %H:%M UTC")
            if obj.risk_calculated_at
            else "-",
            obj.risk_score,
        )

    @admin.action(description="Recalculate risk of selected customers", permissions=["change"])
    def recalculate_risk(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        done = 0
        with admin_audit(request):
            for customer in queryset:
                customer_rescore(customer=customer)
                done += 1
        self.message_user(  # type: ignore[attr-defined]
            request, f"Risk recalculated for {done} customer(s).", messages.SUCCESS
        )


class SessionInline(TenantInline):
    """A customer's sessions, newest first, read-only (sessions come from the API)."""

    model = Session
    fk_name = "customer"
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    fields = (
        "public_id",
        "status",
        "workflow",
        "ip_address",
        "user_agent",
        "created_at",
        "completed_at",
    )
    readonly_fields = fields
    ordering = ("-created_at", "-id")
    verbose_name_plural = "KYC sessions"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Session)
class SessionAdmin(TenantHistoryMixin, TenantModelAdmin, SimpleHistoryAdmin):
    list_display = (
        "public_id",
        "customer",
        "status",
        "workflow",
        "ip_address",
        "created_at",
        "completed_at",
    )
    list_filter = ("status", "workflow", "created_at", "completed_at")
    search_fields = ("customer__search_text", "public_id", "ip_address")
    list_select_related = ("customer", "organisation")
    readonly_fields = (
        "public_id",
        "customer",
        "status",
        "ip_address",
        "user_agent",
        "workflow",
        "checks",
        "created_at",
        "updated_at",
        "completed_at",
    )
    fields = readonly_fields
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # sessions are recorded by verification tools through the API

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _lines(mapping: dict[str, Any]) -> str:
    return "\n".join(f"{key} = {value}" for key, value in mapping.items())


def _parse_lines(text: str, name: str) -> dict[str, Any]:
    """`KEY = points` per line → {KEY: points}; raises ValidationError naming the line."""
    parsed: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        written = value.strip()
        points = ascii_int(written.removeprefix("-"))
        if not sep or points is None:
            raise ValidationError(f"{name}, line {number}: write KEY = points.")
        parsed[key.strip()] = -points if written.startswith("-") else points
    return parsed


class RiskRulesForm(forms.ModelForm):  # type: ignore[type-arg]
    """The rule set as form fields (not raw JSON); kyc.rules validates on save."""

    countries = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 30}),
        help_text="One per line: ISO country code = points (e.g. IR = 50). The customer's "
        "country counts, for companies also the registration address country (the higher).",
    )
    person_points = forms.IntegerField(min_value=0, max_value=100, label="Person (account type 1)")
    company_points = forms.IntegerField(
        min_value=0, max_value=100, label="Company (account type 2)"
    )
    declinedSession = forms.IntegerField(min_value=0, max_value=100, label="Per declined session")
    declinedSessionMax = forms.IntegerField(
        min_value=0, max_value=100, label="Declined sessions at most"
    )
    reviewSession = forms.IntegerField(min_value=0, max_value=100, label="Per session in review")
    reviewSessionMax = forms.IntegerField(
        min_value=0, max_value=100, label="Review sessions at most"
    )
    noApprovedSession = forms.IntegerField(
        min_value=0, max_value=100, label="Sessions but none approved"
    )
    connectedHighRisk = forms.IntegerField(
        min_value=0, max_value=100, label="A connected party is High risk"
    )
    missingOwnership = forms.IntegerField(
        min_value=0,
        max_value=100,
        label="Missing ownership",
        help_text="A company without shareholder, or whose direct shareholdings total less "
        "than the organisation's KYB minimum.",
    )
    screeningHit = forms.IntegerField(
        min_value=0, max_value=100, label="Per confirmed screening hit"
    )
    screeningHitOpen = forms.IntegerField(
        min_value=0, max_value=100, label="Per screening hit not reviewed yet"
    )
    custom_fields = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 30}),
        label="Custom field values",
        help_text="One per line: field key.value = points (e.g. industry.crypto = 30).",
    )
    band_medium = forms.IntegerField(min_value=1, max_value=100, label="Medium risk from score")
    band_high = forms.IntegerField(min_value=1, max_value=100, label="High risk from score")

    class Meta:
        model = RiskRules
        fields: list[str] = []

    def __init__(self, *args: Any, rules: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rules = rules or DEFAULT_RULES
        custom = {
            f"{key}.{value}": points
            for key, table in rules["customFields"].items()
            for value, points in table.items()
        }
        self.initial.update(
            countries=_lines(rules["countries"]),
            person_points=rules["accountTypes"].get("1", 0),
            company_points=rules["accountTypes"].get("2", 0),
            custom_fields=_lines(custom),
            band_medium=rules["bands"]["medium"],
            band_high=rules["bands"]["high"],
            **{key: rules.get(key, 0) for key in POINT_KEYS},
        )
        self.rules: dict[str, Any] | None = None

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if self.errors:
            return data
        try:
            custom: dict[str, dict[str, int]] = {}
            for key, points in _parse_lines(
                data.get("custom_fields") or "", "Custom field values"
            ).items():
                field, dot, value = key.partition(".")
                if not dot:
                    raise ValidationError(f"Custom field values: write key.value = points ({key}).")
                custom.setdefault(field, {})[value] = points
            raw = {
                "countries": _parse_lines(data.get("countries") or "", "Countries"),
                "accountTypes": {"1": data["person_points"], "2": data["company_points"]},
                **{key: data[key] for key in POINT_KEYS},
                "customFields": custom,
                "bands": {"medium": data["band_medium"], "high": data["band_high"]},
            }
            self.rules = clean_rules(raw)
        except ValidationError as exc:
            for message in exc.messages:
                self.add_error(None, message)
        return data


@admin.register(RiskRules)
class RiskRulesAdmin(TenantHistoryMixin, TenantModelAdmin, SimpleHistoryAdmin):
    """Each save stores a new version and rescores every customer in the background.
    "Preview" shows how many customers would change level, without saving."""

    form = RiskRulesForm
    change_form_template = "admin/kyc/riskrules/change_form.html"
    list_display = ("__str__", "version", "created_at", "rescoring_status")
    readonly_fields = ("version", "created_at", "rules_display")
    list_select_related = ("organisation",)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None:
            return ("version", "created_at", "rules_display")
        return [name for name in RiskRulesForm.base_fields]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a version never changes: add the next one

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):  # type: ignore[no-untyped-def]
        form = super().get_form(request, obj, change, **kwargs)
        organisation = user_organisation(request.user)
        if obj is not None or organisation is None:
            return form
        current = rules_in_force(organisation_id=organisation.pk).rules
        preview = "_preview" in request.POST
        admin_site = self

        class Form(form):  # type: ignore[misc,valid-type]
            def __init__(self, *args: Any, **kw: Any) -> None:
                super().__init__(*args, rules=current, **kw)

            def clean(self) -> dict[str, Any]:
                data: dict[str, Any] = super().clean()
                if preview and self.rules is not None and organisation is not None:
                    moves = levels_preview(organisation_id=organisation.pk, rules=self.rules)
                    self.add_error(None, admin_site.preview_message(moves))
                return data

        return Form

    @staticmethod
    def preview_message(moves: dict[tuple[str, str], int]) -> str:
        total = sum(moves.values())
        detail = ", ".join(f"{n} {old} → {new}" for (old, new), n in sorted(moves.items()))
        text = f"Preview: {total} customer(s) would change level"
        return (
            text + (f" ({detail})" if detail else "")
        ) + ". Nothing was saved; press Save to apply."

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        # Rules belong to the staff member's organisation (a superuser without one
        # uses the API of the organisation).
        return user_organisation(request.user) is not None and super().has_add_permission(
            request, *args
        )

    def service_save(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        organisation = user_organisation(request.user)
        assert organisation is not None  # has_add_permission
        stored, _job = risk_rules_replace(organisation=organisation, data=form.rules)
        obj.pk = stored.pk
        obj.refresh_from_db()

    @admin.display(description="rules")
    def rules_display(self, obj: RiskRules) -> str:
        rules = obj.rules
        types = rules["accountTypes"]
        rows = [
            ("Countries", ", ".join(f"{k} {v}" for k, v in rules["countries"].items()) or "-"),
            (
                "Account types",
                f"Person {types.get('1', 0)}, Company {types.get('2', 0)}",
            ),
            *[(key, rules[key]) for key in POINT_KEYS],
            ("Custom fields", str(rules["customFields"]) if rules["customFields"] else "-"),
            (
                "Bands",
                f"Medium from {rules['bands']['medium']}, High from {rules['bands']['high']}",
            ),
        ]
        return format_html(
            "<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        )

    @admin.display(description="rescoring")
    def rescoring_status(self, obj: RiskRules) -> str:
        job = risk_rules_current(organisation=obj.organisation)["rescoring"]
        if job is None or job.rules_version != obj.version:
            return "-"
        return f"{job.status} ({job.processed}/{job.total})"
