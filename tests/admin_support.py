"""Users for admin tests: staff of an organisation (optionally in a group), superusers."""

from django.contrib.auth.models import Group, User

from organisations.groups import ANALYST, COMPLIANCE_OFFICER
from organisations.models import Membership, Organisation

PASSWORD = "correct horse battery staple"


def make_staff(
    organisation: Organisation | None, *, username: str = "staff", group: str = COMPLIANCE_OFFICER
) -> User:
    """A staff user of `organisation` (no membership when None), in `group`."""
    user = User.objects.create_user(username=username, password=PASSWORD, is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    if organisation is not None:
        Membership.objects.create(user=user, organisation=organisation)
    return user


def make_superuser(username: str = "root") -> User:
    return User.objects.create_superuser(username=username, password=PASSWORD, email="")


__all__ = ["ANALYST", "COMPLIANCE_OFFICER", "PASSWORD", "make_staff", "make_superuser"]


def _field_value(bound_field):
    value = bound_field.value()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return str(value)


def change_form_data(response) -> dict:
    """The POST a browser would send for the admin change form in `response` (main form,
    every inline formset with its management form), to be edited by the test."""
    data: dict = {}
    form = response.context["adminform"].form
    for name in form.fields:
        data[form.add_prefix(name)] = _field_value(form[name])
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name in formset.management_form.fields:
            key = formset.management_form.add_prefix(name)
            data[key] = str(formset.management_form[name].value() or 0)
        for row in formset.forms:
            for name in row.fields:
                value = _field_value(row[name])
                if value != "":
                    data[row.add_prefix(name)] = value
    return {key: value for key, value in data.items() if value != "" or "-" not in key}


def add_inline_row(data: dict, prefix: str, **fields) -> None:
    """Append a new row to the inline formset `prefix` of `data`."""
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    for name, value in fields.items():
        data[f"{prefix}-{index}-{name}"] = str(value)
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
