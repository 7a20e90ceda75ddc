"""Working days in mainland China: weekends and public holidays do not count, the official
make-up working days (調休 weekends) do. The calendar comes from the maintained `holidays` package."""

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=16)
def _china(year: int) -> holidays.HolidayBase:
    return holidays.China(years=year)


def is_working_day(day: date) -> bool:
    return _china(day.year).is_working_day(day)


def add_working_days(start: date, count: int) -> date:
    """The ``count``-th working day after ``start`` (``start`` itself does not count)."""
    day = start
    remaining = count
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def next_monthly_date(on_or_after: date, day_of_month: int) -> date:
    """The first date with that day of the month, on or after the given date."""
    candidate = on_or_after.replace(day=day_of_month)
    return (
        candidate if candidate >= on_or_after else next_month(on_or_after).replace(day=day_of_month)
    )
