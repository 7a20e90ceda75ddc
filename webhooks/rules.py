"""The delivery rules, as plain functions of what they decide by."""

from datetime import datetime, timedelta

from django.utils.translation import gettext as _


def retry_delay(*, attempts_made: int, delays: list[int]) -> timedelta | None:
    """How long to wait after the ``attempts_made``-th failed attempt of a round before the next;
    None when that was the last attempt (the delivery fails)."""
    if attempts_made < 1 or attempts_made > len(delays):
        return None
    return timedelta(seconds=delays[attempts_made - 1])


def attempt_succeeded(status_code: int | None) -> bool:
    """Any 2xx answer is a delivery; a redirect is not followed and counts as a failure."""
    return status_code is not None and 200 <= status_code < 300


def disable_reason(
    *,
    consecutive_failures: int,
    failing_since: datetime | None,
    now: datetime,
    max_failures: int,
    max_hours: int,
) -> str:
    """Why an endpoint is to be disabled ("" while it stays enabled)."""
    if consecutive_failures >= max_failures:
        return _(
            "Disabled automatically: %(count)s deliveries in a row failed after every retry. "
            "Fix the receiver, then enable the endpoint again; pending deliveries resume."
        ) % {"count": consecutive_failures}
    if failing_since is not None and now - failing_since >= timedelta(hours=max_hours):
        return _(
            "Disabled automatically: every delivery attempt has failed for %(hours)s hours "
            "(since %(since)s). Fix the receiver, then enable the endpoint again."
        ) % {"hours": max_hours, "since": failing_since.isoformat(timespec="seconds")}
    return ""
