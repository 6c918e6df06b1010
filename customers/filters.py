"""Query parameters of `GET /customers`, as a django-filter FilterSet."""

from datetime import UTC, datetime, time
from typing import Any

import pycountry
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django_filters import rest_framework as filters

from customers.models import Customer, CustomerStatus, OnboardingStatus, RiskLevel
from customers.text import fold

SEARCH_MAX = 200
# riskScoreName also takes the band's first word: "high" → "High risk".
RISK_NAMES = {
    **{name.lower(): name for name in RiskLevel.values},
    **{name.split()[0].lower(): name for name in RiskLevel.values},
}
STATUS_ALL = "all"
# Parameters whose empty value is refused (search and ordering may be empty: no filter).
VALUE_REQUIRED = (
    "accountTypeId",
    "status",
    "riskScoreName",
    "onboardingStatus",
    "monitored",
    "country",
    "createdAfter",
    "createdBefore",
)


def _moment(name: str, value: str, *, end_of_day: bool) -> datetime:
    """An ISO date or datetime; a bare date means its start (createdAfter) or the start
    of the next day (createdBefore is exclusive of the moment, inclusive of the day)."""
    invalid = ValidationError(
        {name: [f"Must be an ISO 8601 date or datetime, e.g. 2025-06-27 (got '{value[:40]}')."]}
    )
    parsed: datetime | None
    try:
        # parse_datetime would read a bare date as midnight: dates go first.
        day = parse_date(value) if len(value) == 10 else None
        parsed = parse_datetime(value) if day is None else None
    except ValueError:
        raise invalid from None
    if day is not None:
        parsed = datetime.combine(day, time.max if end_of_day else time.min)
    if parsed is None:
        raise invalid
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


class CustomerFilter(filters.FilterSet):
    accountTypeId = filters.CharFilter(method="filter_account_type")
    status = filters.CharFilter(method="filter_status")
    riskScoreName = filters.CharFilter(method="filter_risk")
    onboardingStatus = filters.CharFilter(method="filter_onboarding")
    monitored = filters.CharFilter(method="filter_monitored")
    country = filters.CharFilter(method="filter_country")
    createdAfter = filters.CharFilter(method="filter_created_after")
    createdBefore = filters.CharFilter(method="filter_created_before")
    search = filters.CharFilter(method="filter_search")
    ordering = filters.OrderingFilter(
        fields=(
            ("created_at", "createdAt"),
            ("updated_at", "updatedAt"),
            ("name", "name"),
            ("reference_id", "referenceId"),
            ("client_number", "clientNumber"),
            ("risk_score", "riskScore"),
        ),
    )

    class Meta:
        model = Customer
        fields: list[str] = []

    @classmethod
    def asked_for(cls, data: Any) -> bool:
        """Whether the query parameters `data` name any filter (or an ordering)."""
        return any(name in data for name in cls.base_filters)

    @staticmethod
    def defaults(queryset: QuerySet[Any], *, status_given: bool = False) -> QuerySet[Any]:
        """What every list gets: active customers only (unless `status` was given), in
        an order stable across pages. With no filter asked for, this is the whole list:
        no form to build (customers.selectors.customer_list)."""
        # Inactive customers leave the default list; `status` brings them back.
        if not status_given:
            queryset = queryset.filter(status=CustomerStatus.ACTIVE)
        # A stable order for pagination: ties broken by id in the same direction.
        ordering = [str(f) for f in queryset.query.order_by or Customer._meta.ordering or ()]
        if not any(field.lstrip("-") in ("id", "pk") for field in ordering):
            ordering.append("-id" if ordering[0].startswith("-") else "id")
        return queryset.order_by(*ordering)

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        # django-filter skips a parameter sent empty; these take only the values their
        # method accepts, so an empty one is refused with the message the method gives.
        for name in VALUE_REQUIRED:
            if name in self.data and not self.data[name].strip():
                getattr(self, self.filters[name].method)(queryset, name, "")
        return self.defaults(
            super().filter_queryset(queryset),
            status_given=bool(self.form.cleaned_data.get("status")),
        )

    def filter_account_type(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        if value.strip() not in ("1", "2"):
            raise ValidationError({"accountTypeId": ["Must be 1 (Person) or 2 (Company)."]})
        return queryset.filter(account_type=int(value))

    def filter_status(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        if value == STATUS_ALL:
            return queryset
        if value not in CustomerStatus.values:
            raise ValidationError({"status": ["Must be one of: active, inactive, all."]})
        return queryset.filter(status=value)

    def filter_risk(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        level = RISK_NAMES.get(value.strip().lower())
        if level is None:
            raise ValidationError(
                {"riskScoreName": [f"Must be one of: {', '.join(RiskLevel.values)}."]}
            )
        # The level stored with the score: each organisation has its own bands.
        return queryset.filter(risk_level=level)

    def filter_onboarding(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        status = value.strip().upper()
        if status not in OnboardingStatus.values:
            raise ValidationError(
                {"onboardingStatus": [f"Must be one of: {', '.join(OnboardingStatus.values)}."]}
            )
        return queryset.filter(onboarding_status=status)

    def filter_monitored(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        flag = value.strip().lower()
        if flag not in ("true", "false"):
            raise ValidationError({"monitored": ["Must be true or false."]})
        return queryset.filter(monitored=flag == "true")

    def filter_country(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        code = value.strip().upper()
        if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
            raise ValidationError(
                {"country": [f"Must be an ISO 3166-1 alpha-2 country code (got '{value[:20]}')."]}
            )
        return queryset.filter(country=code)

    def filter_created_after(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(created_at__gte=_moment("createdAfter", value, end_of_day=False))

    def filter_created_before(
        self, queryset: QuerySet[Any], name: str, value: str
    ) -> QuerySet[Any]:
        return queryset.filter(created_at__lte=_moment("createdBefore", value, end_of_day=True))

    def filter_search(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        if len(value) > SEARCH_MAX:
            raise ValidationError({"search": [f"At most {SEARCH_MAX} characters allowed."]})
        terms = fold(value).split()
        condition = Q()
        for term in terms:
            condition &= Q(search_text__contains=term)
        return queryset.filter(condition)
