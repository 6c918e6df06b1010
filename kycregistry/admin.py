"""Tenancy for the admin in one place: every tenant-owned ModelAdmin and
inline derives from the classes here.

- Staff users see only their membership's organisation; superusers see everything.
  A staff user without a membership sees nothing and may do nothing.
- Foreign-key choices (and, through `get_queryset`, autocomplete results) are limited
  to the organisation, so a crafted POST cannot point at another tenant's row.
- Writes go through services. A `ValidationError` a service raises while saving is
  shown on the form (or the inline row) it belongs to, never as a 500: the failed
  attempt is rolled back and the same POST is validated again with those errors
  attached (`ServiceErrors`).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect

from kycregistry.admin_history import ReadableHistoryMixin
from organisations.audit import Channel, audit_context
from organisations.models import Organisation

MAIN_FORM = "__main__"


def user_organisation(user: AbstractBaseUser | AnonymousUser | None) -> Organisation | None:
    """The organisation of a staff user's membership, or None (cached on the user)."""
    if user is None or not user.is_authenticated:
        return None
    if hasattr(user, "_tenant_organisation"):
        return cast(Organisation | None, user._tenant_organisation)
    try:
        organisation: Organisation | None = user.membership.organisation  # type: ignore[attr-defined]
    except ObjectDoesNotExist:
        organisation = None
    user._tenant_organisation = organisation  # type: ignore[attr-defined]
    return organisation


def is_superuser(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_superuser", False))


def tenant_rows(
    request: HttpRequest, queryset: QuerySet[Any], tenant_field: str = "organisation"
) -> QuerySet[Any]:
    """The rows of `queryset` the request's user may see: all for a superuser, those of
    the membership's organisation for staff (`tenant_field` is the path from the model
    to it), none without a membership. Every admin read goes through here."""
    if is_superuser(request):
        return queryset
    organisation = user_organisation(request.user)
    if organisation is None:
        return queryset.none()
    return queryset.filter(**{tenant_field: organisation})


@contextmanager
def admin_audit(request: HttpRequest) -> Iterator[None]:
    """Names the admin user and the channel on every history row written inside."""
    user = request.user if request.user.is_authenticated else None
    with audit_context(channel=Channel.ADMIN, user=user):
        yield


class ServiceErrors(Exception):
    """Service ValidationErrors of one save, keyed by form prefix (MAIN_FORM for the
    object's own form)."""

    def __init__(self, errors: dict[str, ValidationError]) -> None:
        self.errors = errors
        super().__init__(errors)


def attach_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a service error on the form: on the field when the form has it, otherwise as
    a form error naming the field."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        messages = [m for e in errors for m in e.messages]
        model_field = SERVICE_FIELD_ALIASES.get(field, field)
        if model_field in form.fields:
            form.add_error(model_field, messages)
        elif field in (None, "__all__", "non_field_errors"):
            form.add_error(None, messages)
        else:
            form.add_error(None, [f"{field}: {m}" for m in messages])


# Error keys services use (API names) → the model field the admin form shows.
SERVICE_FIELD_ALIASES = {
    "type": "field_type",
    "connectedCustomer": "connected_customer",
    "ownershipPercentage": "ownership_percentage",
    "validFrom": "valid_from",
    "validTo": "valid_to",
    "referenceId": "reference_id",
    "accountTypeId": "account_type",
    "externalId": "external_id",
}


def _with_service_errors(form_class: type[forms.BaseForm], errors: dict[str, ValidationError]):
    """A subclass of `form_class` that adds the recorded service errors for its prefix."""

    def _post_clean(self: Any) -> None:
        form_class._post_clean(self)  # type: ignore[attr-defined]
        error = errors.get(self.prefix or MAIN_FORM)
        if error is not None:
            attach_errors(self, error)

    return type(form_class.__name__, (form_class,), {"_post_clean": _post_clean})


if TYPE_CHECKING:
    # What the mixins below are mixed into, so that their super() calls type-check.
    from django.contrib.admin.options import BaseModelAdmin as _ScopedBase
else:
    _ScopedBase = object


class TenantScopedMixin(_ScopedBase):
    """Queryset and foreign-key scoping shared by model admins and inlines."""

    # The path from the model to its organisation.
    tenant_field = "organisation"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return tenant_rows(request, super().get_queryset(request), self.tenant_field)

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        if not is_superuser(request):
            organisation = user_organisation(request.user)
            related = db_field.related_model
            if related is Organisation:
                kwargs["queryset"] = (
                    Organisation.objects.filter(pk=organisation.pk)
                    if organisation
                    else Organisation.objects.none()
                )
            elif any(f.name == "organisation" for f in related._meta.get_fields()):
                kwargs["queryset"] = related._default_manager.filter(organisation=organisation)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def is_tenant_object(self, request: HttpRequest, obj: Any) -> bool:
        if obj is None or is_superuser(request):
            return True
        organisation = user_organisation(request.user)
        if organisation is None:
            return False
        value: Any = obj
        for part in self.tenant_field.split("__"):
            value = getattr(value, part, None)
        return value == organisation

    def _tenant_allows(self, request: HttpRequest, obj: Any) -> bool:
        if is_superuser(request):
            return True
        return user_organisation(request.user) is not None and self.is_tenant_object(request, obj)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._tenant_allows(request, obj) and super().has_view_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._tenant_allows(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._tenant_allows(request, obj) and super().has_delete_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._tenant_allows(request, None) and super().has_add_permission(request, *args)


class TenantModelAdmin(TenantScopedMixin, admin.ModelAdmin):
    """Base of every tenant-owned model's admin.

    Subclasses write through services by overriding `service_save` and
    `service_delete`; the organisation of a new object comes from the membership
    (a superuser chooses it).
    """

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._tenant_allows(request, None) and super().has_module_permission(request)

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        exclude = list(super().get_exclude(request, obj) or [])
        if not is_superuser(request) and self.tenant_field == "organisation":
            exclude.append("organisation")
        return exclude

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if is_superuser(request) or not self.fieldsets:
            return fieldsets
        # Staff never pick the organisation: drop it from declared fieldsets.
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "organisation"]})
            for name, options in fieldsets
        ]

    def get_list_display(self, request: HttpRequest) -> Any:
        display = super().get_list_display(request)
        if is_superuser(request) and self.tenant_field == "organisation":
            return [*display, "organisation"]
        return display

    # --- writes through services --------------------------------------------------------

    def service_save(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Save `obj` through its service. Default: model save (override per model)."""
        obj.full_clean()
        obj.save()

    def service_delete(self, request: HttpRequest, obj: Any) -> None:
        obj.delete()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change and self.tenant_field == "organisation" and obj.organisation_id is None:
            obj.organisation = user_organisation(request.user)
        try:
            with admin_audit(request):
                self.service_save(request, obj, form, change)
        except ValidationError as exc:
            raise ServiceErrors({MAIN_FORM: exc}) from exc

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with admin_audit(request):
            self.service_delete(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with admin_audit(request):
            for obj in queryset:
                self.service_delete(request, obj)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        save = getattr(formset, "service_save", None)
        if save is None:
            with admin_audit(request):
                super().save_formset(request, form, formset, change)
            return
        errors: dict[str, ValidationError] = {}
        # What BaseModelFormSet.save() would record, for the admin's change message.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        with admin_audit(request):
            for row in formset.deleted_forms:
                if row.instance.pk is not None:
                    try:
                        formset.service_delete(row.instance)
                        formset.deleted_objects.append(row.instance)
                    except ValidationError as exc:
                        errors[row.prefix] = exc
            for row in formset.forms:
                if row in formset.deleted_forms or not row.has_changed():
                    continue
                is_new = row.instance.pk is None
                instance = row.save(commit=False)
                setattr(instance, formset.fk.name, formset.instance)
                try:
                    save(instance)
                except ValidationError as exc:
                    errors[row.prefix] = exc
                    continue
                if is_new:
                    formset.new_objects.append(instance)
                else:
                    formset.changed_objects.append((instance, row.changed_data))
        if errors:
            raise ServiceErrors(errors)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        form = super().get_form(request, obj, change, **kwargs)
        errors = getattr(request, "_service_errors", None)
        return _with_service_errors(form, errors) if errors else form

    def get_formset_kwargs(
        self, request: HttpRequest, obj: Any, inline: Any, prefix: str
    ) -> dict[str, Any]:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        errors = getattr(request, "_service_errors", None)
        if errors and isinstance(inline, TenantInline):
            kwargs["form_kwargs"] = {**kwargs.get("form_kwargs", {}), "service_errors": errors}
        return kwargs

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceErrors as exc:
            # The attempt was rolled back (changeform_view is atomic). Validate the same
            # POST again with the service's errors attached: the page shows them.
            request._service_errors = exc.errors  # type: ignore[attr-defined]
            try:
                return super().changeform_view(request, object_id, form_url, extra_context)
            except ServiceErrors as again:
                # Only if an error names no form on the page: say it, change nothing.
                for error in again.errors.values():
                    self.message_user(request, "; ".join(error.messages), messages.ERROR)
                return HttpResponseRedirect(request.get_full_path())


class TenantHistoryMixin(ReadableHistoryMixin):
    """For SimpleHistoryAdmin subclasses: history pages (also of deleted objects) show
    only the tenant's records, and another tenant's record is a 404; they read in
    words (kycregistry.admin_history)."""

    tenant_field = "organisation"

    def get_history_queryset(
        self, request: HttpRequest, history_manager: Any, pk_name: str, object_id: Any
    ) -> QuerySet[Any]:
        queryset = super().get_history_queryset(request, history_manager, pk_name, object_id)
        return tenant_rows(request, queryset, self.tenant_field)

    def history_form_view(
        self,
        request: HttpRequest,
        object_id: str,
        version_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if not is_superuser(request):
            version = self.model.history.filter(
                **{
                    self.model._meta.pk.attname: unquote(object_id),
                    "history_id": version_id,
                }
            )
            visible = tenant_rows(request, version, self.tenant_field).exists()
            if not visible:
                raise Http404("No such history record.")
        return super().history_form_view(request, object_id, version_id, extra_context)


class ServiceErrorForm(forms.ModelForm):
    """Inline row form that shows the service errors recorded for its prefix."""

    def __init__(
        self, *args: Any, service_errors: dict[str, ValidationError] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._service_errors = service_errors or {}

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]
        error = self._service_errors.get(self.prefix or MAIN_FORM)
        if error is not None:
            attach_errors(self, error)


class ServiceInlineFormSet(BaseInlineFormSet):
    """Inline formset whose rows are written by services: set `service_save` and
    `service_delete` on the inline (see TenantInline)."""

    inline: "TenantInline"

    def service_save(self, instance: Any) -> None:
        self.inline.service_save_row(instance)

    def service_delete(self, instance: Any) -> None:
        self.inline.service_delete_row(instance)


class TenantInline(TenantScopedMixin, admin.TabularInline):
    form = ServiceErrorForm
    formset = ServiceInlineFormSet
    extra = 0

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.inline = self  # type: ignore[attr-defined]
        return formset

    def service_save_row(self, instance: Any) -> None:
        instance.full_clean()
        instance.save()

    def service_delete_row(self, instance: Any) -> None:
        instance.delete()
