"""The filter backend every list uses: django-filter's, with number parameters held to what
PostgreSQL's bigint can hold, so ``?year=9223372036854775808`` is a field error like any other
bad value rather than a query the database has to make sense of."""

from datetime import timedelta

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django_filters import BooleanFilter, CharFilter, DateTimeFilter, NumberFilter
from django_filters.rest_framework import DjangoFilterBackend

from common.errors import CommonErrorCode, DomainError, field_error
from common.parsers import BIGINT_MAX, BIGINT_MIN


class BoundedFilterBackend(DjangoFilterBackend):
    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            # Each filterset holds its own copies of the filters; their form fields are built
            # from ``extra`` when first validated, which is after this.
            for number_filter in filterset.filters.values():
                if isinstance(number_filter, NumberFilter):
                    number_filter.extra.setdefault("min_value", BIGINT_MIN)
                    number_filter.extra.setdefault("max_value", BIGINT_MAX)
            _refuse_unreadable_choices(filterset, request)
        return filterset


def _refuse_unreadable_choices(filterset, request) -> None:
    """django-filter reads anything but true and false as "no filter", and an empty value of a
    choice, date or number too, so ``?in_arrears=yes``, ``?status=`` or ``?settled_from=`` would
    list every row instead of the ones asked for: each is a field error instead (a wrong choice,
    date or number already is one). Only text filters take an empty value."""
    errors = []
    for name, list_filter in filterset.filters.items():
        if name not in request.query_params:
            continue
        value = request.query_params[name]
        if isinstance(list_filter, BooleanFilter):
            if value not in ("true", "false"):
                errors.append(field_error(name, _("Send true or false."), "invalid"))
        elif value == "" and not isinstance(list_filter, CharFilter):
            errors.append(
                field_error(name, _("Send a value, or leave the parameter out."), "blank")
            )
        elif isinstance(list_filter, DateTimeFilter) and not _offset_on_earth(value):
            errors.append(
                field_error(name, _("Send a UTC offset between -14:00 and +14:00."), "invalid")
            )
    if errors:
        raise DomainError(CommonErrorCode.VALIDATION_ERROR, errors=errors)


# Offsets in use on Earth lie between -12:00 and +14:00; PostgreSQL refuses those past 15:59,
# which would otherwise reach it from a well-formed ISO 8601 time.
_LARGEST_OFFSET = timedelta(hours=14)


def _offset_on_earth(value: str) -> bool:
    try:
        moment = parse_datetime(value)
    except ValueError:
        return True  # not a time at all: the filter's own field error says so
    offset = moment.utcoffset() if moment is not None else None
    return offset is None or abs(offset) <= _LARGEST_OFFSET
