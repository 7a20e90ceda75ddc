"""The filter backend every list uses: django-filter's, with number parameters held to what
PostgreSQL's bigint can hold, so ``?year=9223372036854775808`` is a field error like any other
bad value rather than a query the database has to make sense of."""

from django_filters import BooleanFilter, ChoiceFilter, MultipleChoiceFilter, NumberFilter
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
    """django-filter reads anything but true and false as "no filter", and an empty choice too,
    so ``?in_arrears=yes`` or ``?status=`` would list every row instead of the ones asked for:
    each is a field error instead (a wrong choice already is one)."""
    errors = []
    for name, list_filter in filterset.filters.items():
        if name not in request.query_params:
            continue
        value = request.query_params[name]
        if isinstance(list_filter, BooleanFilter) and value not in ("true", "false"):
            errors.append(field_error(name, "Send true or false.", "invalid"))
        elif isinstance(list_filter, ChoiceFilter | MultipleChoiceFilter) and value == "":
            errors.append(field_error(name, "Send one of the choices.", "invalid_choice"))
    if errors:
        raise DomainError(CommonErrorCode.VALIDATION_ERROR, errors=errors)
