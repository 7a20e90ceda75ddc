"""Reads about cities: their schedules (uploads, contributions, crediting), and how a person is
told to reach the city's medical-insurance agency."""

from datetime import date, timedelta

from django.conf import settings
from django.utils.translation import gettext

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


# --- The city's medical-insurance agency, as a remedy names it -------------------------------


def agency_where(*, name: str, address: str) -> str:
    """The agency's counter a remedy sends a person to: by name and address where recorded."""
    if name and address:
        return gettext("%(name)s (%(address)s)") % {"name": name, "address": address}
    return name or gettext("the local medical-insurance agency")


def agency_call(*, name: str, phone: str) -> str:
    """The phone a remedy gives: the agency's own where recorded, else the national hotline."""
    if phone:
        return gettext("call %(agency)s on %(phone)s") % {
            "agency": name or gettext("the agency"),
            "phone": phone,
        }
    return gettext("call the national medical-insurance hotline on %(hotline)s") % {
        "hotline": settings.NHSA_HOTLINE
    }


def agency_contact(*, name: str, address: str, phone: str) -> dict:
    """The contact as data: the agency as recorded (left out where nothing is), and the number
    to call, the national hotline where the city has none."""
    contact: dict = {"hotline": phone or settings.NHSA_HOTLINE}
    if name or address or phone:
        contact["agency"] = {"name": name, "address": address, "phone": phone}
    return contact
