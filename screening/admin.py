"""Back-office for screening: watchlists (upload, versions, counts), the review queue
of hits (filters, side-by-side comparison, confirm/dismiss with a comment), and on
the customer page its hits and the "Screen now" and "Monitor" actions. Writes go
through screening.services; tenancy comes from kycregistry.admin."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from customers.models import Customer
from kycregistry.admin import (
    TenantHistoryMixin,
    TenantInline,
    TenantModelAdmin,
    admin_audit,
    tenant_rows,
)
from kycregistry.numbers import ascii_int
from screening.models import HitStatus, ScreeningHit, Watchlist
from screening.parties import party_subject
from screening.services import (
    customer_monitor_start,
    customer_screen,
    hit_review,
    watchlist_delete,
    watchlist_upload,
)


class WatchlistAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    upload = forms.FileField(
        required=False,
        help_text="FollowTheMoney JSON lines or CSV (id,name,aliases,type,birthDate,countries,"
        "topics). On an existing list: its next version.",
    )

    class Meta:
        model = Watchlist
        fields = ["organisation", "name"]


@admin.register(Watchlist)
class WatchlistAdmin(TenantHistoryMixin, TenantModelAdmin, SimpleHistoryAdmin):
    form = WatchlistAdminForm
    list_display = [
        "name",
        "version",
        "status",
        "entry_count",
        "added_count",
        "changed_count",
        "removed_count",
        "skipped_count",
        "updated_at",
    ]
    list_filter = ["status"]
    search_fields = ["name"]
    readonly_fields = [
        "version",
        "status",
        "entry_count",
        "added_count",
        "changed_count",
        "removed_count",
        "skipped_count",
        "message",
        "line_errors",
        "file_name",
        "created_at",
        "updated_at",
    ]
    history_list_display = ["version", "status", "history_channel"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "name"] if obj is not None else readonly

    def service_save(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        file = form.cleaned_data.get("upload")
        if file is None:
            if not change:
                raise ValidationError({"upload": "Choose a file to upload."})
            return
        user = request.user if request.user.is_authenticated else None
        saved = watchlist_upload(organisation=obj.organisation, name=obj.name, file=file, user=user)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def service_delete(self, request: HttpRequest, obj: Any) -> None:
        watchlist_delete(watchlist=obj)


class StatusFilter(admin.SimpleListFilter):
    """The review queue: open hits unless asked otherwise."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*HitStatus.choices, ("all", "All")]

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": (self.value() or HitStatus.OPEN) == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value() or HitStatus.OPEN
        return queryset if value == "all" else queryset.filter(status=value)


class ScoreFilter(admin.SimpleListFilter):
    title = "score"
    parameter_name = "score"
    BANDS = {"95": (0.95, 1.01), "90": (0.9, 0.95), "low": (0.0, 0.9)}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("95", "≥ 0.95"), ("90", "0.90 – 0.95"), ("low", "< 0.90")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        band = self.BANDS.get(self.value() or "")
        if band is None:
            return queryset
        return queryset.filter(score__gte=band[0], score__lt=band[1])


class TopicFilter(admin.SimpleListFilter):
    title = "topic"
    parameter_name = "topic"
    TOPICS = ["sanction", "role.pep", "crime", "debarment", "poi"]

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(topic, topic) for topic in self.TOPICS]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.value():
            return queryset
        # The JSON text holds each topic quoted: "sanction" never matches "sanction.linked".
        return queryset.filter(entry__topics__icontains=f'"{self.value()}"')


class WatchlistFilter(admin.SimpleListFilter):
    title = "watchlist"
    parameter_name = "watchlist"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        lists = tenant_rows(request, Watchlist.objects.order_by("name"))
        return [(str(pk), name) for pk, name in lists.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        watchlist_id = ascii_int(self.value() or "")
        if watchlist_id is None:
            return queryset
        return queryset.filter(entry__watchlist_id=watchlist_id)


class ReviewActionForm(ActionForm):
    comment = forms.CharField(required=False, help_text="Required to dismiss.")


class ScreeningHitAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    status = forms.ChoiceField(choices=HitStatus.choices)

    class Meta:
        model = ScreeningHit
        fields = ["status", "comment"]


@admin.register(ScreeningHit)
class ScreeningHitAdmin(TenantHistoryMixin, TenantModelAdmin, SimpleHistoryAdmin):
    """The review queue."""

    form = ScreeningHitAdminForm
    action_form = ReviewActionForm
    list_display = [
        "customer",
        "party",
        "role",
        "entry_name",
        "watchlist",
        "score",
        "status",
        "created_at",
    ]
    list_filter = [StatusFilter, ScoreFilter, TopicFilter, WatchlistFilter]
    list_select_related = ["customer", "party", "entry__watchlist", "organisation"]
    search_fields = ["party__name", "entry__name", "customer__reference_id"]
    ordering = ["-score", "id"]
    readonly_fields = [
        "comparison",
        "customer",
        "party",
        "role",
        "score",
        "reviewed_at",
        "reviewed_by",
        "created_at",
    ]
    fields = ["comparison", "status", "comment", "reviewed_at", "reviewed_by"]
    actions = ["confirm_selected", "dismiss_selected"]
    history_list_display = ["status", "comment", "history_channel"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    @admin.display(description="entry")
    def entry_name(self, obj: ScreeningHit) -> str:
        return obj.entry.name

    @admin.display(description="watchlist")
    def watchlist(self, obj: ScreeningHit) -> str:
        return obj.entry.watchlist.name

    @admin.display(description="party and entry, side by side")
    def comparison(self, obj: ScreeningHit) -> str:
        party, entry = obj.party, obj.entry
        subject = party_subject(party)
        rows = [
            ("Name", party.name, entry.name),
            ("Other names", ", ".join(subject.names[1:]), ", ".join(entry.aliases)),
            ("Type", subject.schema, entry.schema),
            ("Birth date", party.birth_date or "", ", ".join(entry.birth_dates)),
            ("Country", party.country, ", ".join(entry.countries)),
            ("Role / topics", obj.role, ", ".join(entry.topics)),
            ("Reference / source id", party.reference_id, entry.source_id),
        ]
        body = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
            ((a, b or "-", c or "-") for a, b, c in rows),
        )
        explanation = format_html_join(
            "", "<li><code>{}</code>: {}</li>", sorted(obj.explanation.items())
        )
        return format_html(
            '<table class="screening-compare"><thead><tr><th></th><th>Party</th>'
            "<th>Watchlist entry ({})</th></tr></thead><tbody>{}</tbody></table>"
            "<p>Score <strong>{}</strong></p><ul>{}</ul>",
            entry.watchlist.name,
            body,
            obj.score,
            explanation,
        )

    def service_save(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        hit_review(hit=obj, data={"status": obj.status, "comment": obj.comment})

    def _review(self, request: HttpRequest, queryset: QuerySet[Any], status: str) -> None:
        comment = request.POST.get("comment", "")
        done = 0
        with admin_audit(request):
            for hit in queryset:
                try:
                    hit_review(hit=hit, data={"status": status, "comment": comment})
                except ValidationError as exc:
                    self.message_user(request, "; ".join(exc.messages), messages.ERROR)
                    return
                done += 1
        self.message_user(request, f"{done} hit(s) {status}.", messages.SUCCESS)

    @admin.action(description="Confirm selected hits", permissions=["change"])
    def confirm_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._review(request, queryset, HitStatus.CONFIRMED)

    @admin.action(description="Dismiss selected hits (comment required)", permissions=["change"])
    def dismiss_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._review(request, queryset, HitStatus.DISMISSED)


class ScreeningHitInline(TenantInline):
    """The customer's hits on its page (read only; review them in the queue)."""

    model = ScreeningHit
    fk_name = "customer"
    fields = ["party", "role", "entry", "score", "status", "reviewed_by"]
    readonly_fields = ["party", "role", "entry", "score", "status", "reviewed_by"]
    can_delete = False
    show_change_link = True
    verbose_name_plural = "screening hits"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("party", "entry")


def _customers(request: HttpRequest, queryset: QuerySet[Any], service: Any, done: str) -> int:
    count = 0
    with admin_audit(request):
        for customer in queryset.select_related("organisation"):
            service(customer=customer)
            count += 1
    return count


@admin.action(description="Screen selected customers now", permissions=["change"])
def screen_now(model_admin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    count = _customers(request, queryset, customer_screen, "screened")
    model_admin.message_user(request, f"{count} customer(s) screened.", messages.SUCCESS)


@admin.action(description="Add selected customers to monitoring (daily)", permissions=["change"])
def monitor(model_admin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    count = _customers(request, queryset, customer_monitor_start, "monitored")
    model_admin.message_user(request, f"{count} customer(s) added to monitoring.", messages.SUCCESS)


def extend_customer_admin() -> None:
    """The customer page shows its hits; the list offers Screen now and Monitor."""
    customer_admin: Any = admin.site._registry[Customer]
    if ScreeningHitInline not in customer_admin.inlines:
        customer_admin.inlines = (*customer_admin.inlines, ScreeningHitInline)
        customer_admin.actions = (*customer_admin.actions, screen_now, monitor)


extend_customer_admin()
