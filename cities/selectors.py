"""Reads about cities: their schedules (uploads, contributions, crediting)."""

from datetime import date, timedelta

from cities.models import City
from common.calendar import next_monthly_date


def is_upload_day(city: City, day: date) -> bool:
    if not city.has_public_upload_channel:
        return False
    if city.upload_frequency == City.UploadFrequency.DAILY:
        return True
    if city.upload_frequency == City.UploadFrequency.WEEKLY:
        return day.isoweekday() == city.upload_day
    return day.day == city.upload_day


def next_upload_on(city: City, *, today: date, uploaded_today: bool) -> date | None:
    """The next scheduled upload on or after today (after today if today's already ran), or None
    for a city without a public channel."""
    if not city.has_public_upload_channel:
        return None
    day = today + timedelta(days=1) if uploaded_today else today
    for _ in range(62):
        if is_upload_day(city, day):
            return day
        day += timedelta(days=1)
    return None


def next_contribution_on(city: City, *, on_or_after: date) -> date:
    return next_monthly_date(on_or_after, city.contribution_day)


def next_crediting_on(city: City, *, on_or_after: date) -> date:
    return next_monthly_date(on_or_after, city.crediting_day)
