"""List filters the stock admin lacks: a date range (from, to) on a date or datetime
field, e.g. `list_filter = [("created_at", DateRangeFilter)]`."""

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest


class DateRangeFilter(admin.FieldListFilter):
    """From and to dates (both inclusive, either may be empty) as two date inputs;
    the list's query string carries `<field>__date__gte` and `<field>__date__lte`."""

    template = "admin/filters/date_range.html"

    def __init__(
        self,
        field: models.Field[Any, Any],
        request: HttpRequest,
        params: dict[str, Any],
        model: type[models.Model],
        model_admin: Any,
        field_path: str,
    ) -> None:
        date_path = (
            field_path
            if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField)
            else f"{field_path}__date"
        )
        self.lookup_since = f"{date_path}__gte"
        self.lookup_until = f"{date_path}__lte"
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = f"{self.title} (range)"

    def expected_parameters(self) -> list[str | None]:
        return [self.lookup_since, self.lookup_until]

    def has_output(self) -> bool:
        return True

    def _value(self, name: str) -> str:
        value = self.used_parameters.get(name)
        if isinstance(value, list):
            value = value[-1] if value else ""
        return str(value or "")

    def choices(self, changelist: Any) -> Any:
        others = [
            (name, value)
            for name, value in changelist.params.items()
            if name not in (self.lookup_since, self.lookup_until)
        ]
        yield {
            "since_name": self.lookup_since,
            "since": self._value(self.lookup_since),
            "until_name": self.lookup_until,
            "until": self._value(self.lookup_until),
            "hidden": others,
            "clear_url": changelist.get_query_string(remove=self.expected_parameters()),
            "selected": bool(self.used_parameters),
        }
