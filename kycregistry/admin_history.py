"""History pages an officer can read: column names and values in words, the actor as a
link, the channel in words and the changes as "field: old → new".

`ReadableHistoryMixin` is part of every tenant history admin (through
`kycregistry.admin.TenantHistoryMixin`); a model admin may add rows of related objects
to its page with `related_history_rows` (the customer adds its connections').
"""

import dataclasses
import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.text import capfirst
from simple_history.template_utils import HistoricalRecordContextHelper

from organisations.audit import Channel

EMPTY = "—"
ACTIONS = {"+": "Created", "~": "Changed", "-": "Deleted"}
# Role codes whose generated label would read oddly ("Ubo").
WORDS = {"UBO": "UBO", "AUTHORIZED_PERSON": "Authorised person"}

if TYPE_CHECKING:
    from simple_history.admin import SimpleHistoryAdmin as _HistoryBase
else:
    _HistoryBase = object


def readable_value(model_field: models.Field[Any, Any] | None, value: Any) -> str:
    """`value` of `model_field` as an officer reads it: choice labels, Yes/No, "—" for
    nothing, percentages without trailing zeros, dates in the site's format."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if model_field is not None and model_field.choices:
        labels = {str(key): label for key, label in model_field.flatchoices}
        return str(WORDS.get(str(value), labels.get(str(value), value)))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    if isinstance(value, datetime.datetime):
        return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")
    if isinstance(value, datetime.date):
        return formats.date_format(value, "DATE_FORMAT")
    return str(value)


def field_label(model: type[models.Model], name: str) -> str:
    """The verbose name of a model or history field, or of an admin method."""
    try:
        return str(capfirst(model._meta.get_field(name).verbose_name))  # type: ignore[union-attr]
    except FieldDoesNotExist:
        return str(capfirst(name.replace("_", " ")))


def record_field_value(record: Any, name: str) -> str:
    try:
        model_field = record._meta.get_field(name)
    except FieldDoesNotExist:
        return readable_value(None, getattr(record, name, None))
    if model_field.is_relation:
        value = getattr(record, name, None)
        return readable_value(None, value)
    return readable_value(model_field, getattr(record, model_field.attname, None))


def admin_link(instance: Any, request: HttpRequest | None = None) -> str | None:
    """The admin change page of `instance`, or None when it has none (or, given the
    request, when its user may not view such rows: a link to a 403 helps nobody). The
    rows linked here were read through `tenant_rows`, so the model's permission is
    the question."""
    if instance is None:
        return None
    if request is not None:
        model_admin = admin.site._registry.get(type(instance))
        if model_admin is None or not model_admin.has_view_permission(request):
            return None
    opts = instance._meta
    try:
        return reverse(
            f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(instance.pk)]
        )
    except NoReverseMatch:
        return None


@dataclass(frozen=True)
class Actor:
    label: str
    url: str | None


def record_actor(record: Any, request: HttpRequest) -> Actor:
    """Who wrote a history record: the admin user or the API key (each linked to its
    admin page when the request's user may view it), otherwise the channel."""
    user = getattr(record, "history_user", None)
    if user is not None:
        return Actor(user.get_username(), admin_link(user, request))
    api_key = getattr(record, "history_api_key", None)
    if api_key is not None:
        return Actor(f"API key {api_key.name}", admin_link(api_key, request))
    return Actor(channel_words(record), None)


def channel_words(record: Any) -> str:
    value = getattr(record, "history_channel", "") or Channel.SYSTEM
    return str(Channel(value).label) if value in Channel.values else str(value)


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


@dataclass
class HistoryRow:
    """One line of a history page."""

    date: datetime.datetime
    subject: str
    subject_url: str | None
    action: str
    actor: Actor
    channel: str
    reason: str
    columns: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    related: bool = False


def changes_between(record: Any, previous: Any | None) -> list[Change]:
    """What `record` changed since `previous` (its older record), field by field."""
    if previous is None:
        return []
    delta = record.diff_against(previous, foreign_keys_are_objs=True)
    model = record.instance_type
    changes = []
    for change in delta.changes:
        model_field = model._meta.get_field(change.field)
        if model_field.is_relation:
            old, new = readable_value(None, change.old), readable_value(None, change.new)
        else:
            old, new = (
                readable_value(model_field, change.old),
                readable_value(model_field, change.new),
            )
        changes.append(Change(field_label(model, change.field), old, new))
    return changes


class ReadableContextHelper(HistoricalRecordContextHelper):
    """The changes of a record with readable values (choice labels, "—")."""

    def format_delta_change(self, change: Any) -> Any:
        model_field = self.model._meta.get_field(change.field)
        relation = model_field.is_relation
        old = readable_value(None if relation else model_field, change.old)
        new = readable_value(None if relation else model_field, change.new)
        return dataclasses.replace(
            change, field=field_label(self.model, change.field), old=old, new=new
        )


class ReadableHistoryMixin(_HistoryBase):
    """Renders the history page from `HistoryRow`s (templates/simple_history)."""

    object_history_list_template = "simple_history/readable_history_list.html"
    # Admin methods named in history_list_display keep working; fields are read here.

    def get_historical_record_context_helper(self, request: HttpRequest, historical_record: Any):
        return ReadableContextHelper(self.model, historical_record)

    def history_column_names(self, request: HttpRequest) -> list[str]:
        # Who and through which channel have their own columns.
        shown = ("history_channel", "history_api_key", "history_user")
        return [name for name in self.get_history_list_display(request) if name not in shown]

    def history_row(self, request: HttpRequest, record: Any, columns: list[str]) -> HistoryRow:
        values = []
        for name in columns:
            method = getattr(self, name, None)
            values.append(
                str(method(record)) if callable(method) else record_field_value(record, name)
            )
        opts = self.model._meta
        try:
            url: str | None = reverse(
                f"admin:{opts.app_label}_{opts.model_name}_simple_history",
                args=[quote(record.instance.pk), record.pk],
            )
        except NoReverseMatch:
            url = None
        return HistoryRow(
            date=record.history_date,
            subject=str(record.history_object),
            subject_url=url,
            action=ACTIONS.get(record.history_type, record.history_type),
            actor=record_actor(record, request),
            channel=channel_words(record),
            reason=record.history_change_reason or "",
            columns=values,
            changes=[
                Change(str(c["field"]), str(c["old"]), str(c["new"]))
                for c in getattr(record, "history_delta_changes", None) or []
            ],
        )

    def related_history_rows(
        self,
        request: HttpRequest,
        obj: Any,
        since: datetime.datetime | None,
        before: datetime.datetime | None,
    ) -> Iterable[HistoryRow]:
        """Rows of related objects' history written from `since` (inclusive) to `before`
        (exclusive), to show among the object's own (None: unbounded). None here."""
        return []

    def render_history_view(
        self, request: HttpRequest, template: str, context: dict[str, Any], **kwargs: Any
    ) -> HttpResponse:
        if "page_obj" not in context:  # a version's page (history/<id>/), not the list
            return super().render_history_view(request, template, context, **kwargs)
        page = context["page_obj"]
        columns = self.history_column_names(request)
        rows = [self.history_row(request, record, columns) for record in page.object_list]
        # The period this page covers: from its oldest record (the first page: from
        # the beginning) up to the oldest record of the page before (the first: now).
        before = None
        if page.has_previous():
            previous = list(page.paginator.page(page.previous_page_number()).object_list)
            before = previous[-1].history_date
        since = rows[-1].date if rows and page.has_next() else None
        related = list(self.related_history_rows(request, context["object"], since, before))
        rows = sorted([*rows, *related], key=lambda row: row.date, reverse=True)
        model = self.model.history.model  # type: ignore[attr-defined]
        context = {
            **context,
            "history_rows": rows,
            "related_count": len(related),
            "history_columns": [field_label(model, name) for name in columns],
        }
        return super().render_history_view(request, template, context, **kwargs)
