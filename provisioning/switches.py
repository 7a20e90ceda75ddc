"""Changing a city's switches, with its events: city.switches_changed, and person.balance.changed
for every person of the city whose answer on some channel the change alters (launching online
inquiry removes CITY_INQUIRY_NOT_LAUNCHED, forcing the platform busy adds PLATFORM_BUSY, an
abolition date adds PERSONAL_ACCOUNT_ABOLISHED for residents, ...), in one ``INSERT ... SELECT``
over the city's persons (``uploads.balance_sql``), never diagnosing them one by one."""

from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.forms.models import model_to_dict

from cities.models import City
from cities.services import city_set_switches
from common import clock
from events.models import EventType
from events.services import event_record, event_record_many
from uploads.balance_sql import PERSON, balance_events_sql, channel_reasons_sql
from uploads.events import city_online_state

# The switches a balance answer reads; a change to any other (a figure, the agency's contact)
# alters no reason code.
BALANCE_SWITCHES = frozenset(
    {
        "online_inquiry_launched",
        "personal_account_shown_online",
        "has_public_upload_channel",
        "platform_busy_forced",
        "resident_accounts_abolished_on",
    }
)


def _json_value(value):
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def city_switches_change(*, city: City, now: datetime, by=None, **switches) -> City:
    """``cities.services.city_set_switches`` and the events of what it changed, in one
    transaction; a change that changes nothing records nothing."""
    with transaction.atomic():
        old = City.objects.select_for_update(no_key=True).get(pk=city.pk)
        before = model_to_dict(old, fields=list(switches))
        new = city_set_switches(city=old, by=by, **switches)
        after = model_to_dict(new, fields=list(switches))
        changed = sorted(name for name in after if after[name] != before.get(name))
        if not changed:
            return new
        event_record(
            type=EventType.CITY_SWITCHES_CHANGED,
            now=now,
            object_type="city",
            object_id=new.code,
            data={
                "before": {name: _json_value(before[name]) for name in changed},
                "after": {name: _json_value(after[name]) for name in changed},
            },
            city_id=new.pk,
        )
        if BALANCE_SWITCHES.intersection(changed):
            _balance_events_record(old_city=old, new_city=new, now=now)
        return new


def _balance_events_record(*, old_city: City, new_city: City, now: datetime) -> int:
    today = clock.localdate(now)
    before = channel_reasons_sql(city_online_state(old_city, today=today))
    after = channel_reasons_sql(city_online_state(new_city, today=today))
    return event_record_many(
        type=EventType.PERSON_BALANCE_CHANGED,
        now=now,
        select_sql=balance_events_sql(
            before=before,
            after=after,
            cause="city.switches_changed",
            from_sql=f"FROM {PERSON} p",
            where="p.city_id = %s",
        ),
        params=[new_city.pk],
    )
