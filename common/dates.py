"""Bounds on the dates a request may carry.

A date is an input like any other: one far in the future (9999-12-31) makes later date arithmetic
overflow, so a service that takes a date checks it against these bounds and answers with a field
error. The furthest ahead any date may lie is a year (366 days) after the current, possibly
simulated, date: enough to enrol someone or start a filing ahead of time, and far enough from
the end of the calendar that every period computed from it exists.
"""

from datetime import date, timedelta

from django.utils.translation import gettext as _

from common.errors import CommonErrorCode, DomainError, field_error

MAX_DAYS_AHEAD = 366


def latest_allowed(today: date) -> date:
    return today + timedelta(days=MAX_DAYS_AHEAD)


def check_date_bounds(field: str, value: date, *, earliest: date, today: date) -> None:
    """Refuse ``value`` before ``earliest`` or more than MAX_DAYS_AHEAD after ``today``."""
    latest = latest_allowed(today)
    if value < earliest:
        message = _("On or after %(earliest)s.") % {"earliest": format(earliest, "%Y-%m-%d")}
    elif value > latest:
        message = _("At most %(MAX_DAYS_AHEAD)s days ahead: on or before %(latest)s.") % {
            "MAX_DAYS_AHEAD": MAX_DAYS_AHEAD,
            "latest": format(latest, "%Y-%m-%d"),
        }
    else:
        return
    raise DomainError(
        CommonErrorCode.VALIDATION_ERROR,
        _("Some fields are invalid; see errors."),
        errors=[field_error(field, message, "date_out_of_range")],
    )
