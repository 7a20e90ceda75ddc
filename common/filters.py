"""The filter backend every list uses: django-filter's, with number parameters held to what
PostgreSQL's bigint can hold, so ``?year=9223372036854775808`` is a field error like any other
bad value rather than a query the database has to make sense of."""

from django_filters import NumberFilter
from django_filters.rest_framework import DjangoFilterBackend

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
        return filterset
