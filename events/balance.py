"""``person.balance.changed``: what a balance answer is made of, and how a change to it is told.

A balance answer, per channel, is summarised as ``{"visible", "primary_reason", "reasons"}``
(reason codes in the catalogue's order; the first is the primary one). An event is recorded when
a change alters that summary on at least one channel; its ``data`` holds, per channel that
changed, the summary ``before`` and ``after``.

The diagnosis lives in ``inquiry``, above the floors whose services change a person's facts
(cards, persons, accounts). Those services wrap a change to one person in
``person_balance_watch``; the watch asks the receivers of ``person_balance_watch_started``
(``inquiry`` connects one) for a function to call once the change is made: it diagnoses before and
after, in the change's transaction, and records the event when the summary differs.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.dispatch import Signal

from events.models import Event, EventType
from events.services import event_record, events_enabled

# Sent with person_id, city_id and now before a change to one person; a receiver answers a
# function of no arguments to call after it (or None).
person_balance_watch_started = Signal()

OBJECT_PERSON = "person"


class PersonBalanceWatch:
    """Started before a change to one person's facts; ``finish()`` after it (in its transaction)
    records ``person.balance.changed`` if the change altered the balance answer on any channel."""

    def __init__(self, *, person_id: int, now: datetime, cause: str) -> None:
        self._finishers = []
        if events_enabled():
            self._finishers = [
                finish
                for _, finish in person_balance_watch_started.send(
                    sender=Event, person_id=person_id, now=now, cause=cause
                )
                if finish is not None
            ]

    def finish(self) -> None:
        finishers, self._finishers = self._finishers, []
        for finish in finishers:
            finish()


@contextmanager
def person_balance_watch(*, person_id: int, now: datetime, cause: str) -> Iterator[None]:
    """``PersonBalanceWatch`` around a block (nothing is recorded if the block raises)."""
    watch = PersonBalanceWatch(person_id=person_id, now=now, cause=cause)
    yield
    watch.finish()


def balance_changes(
    before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Per channel whose summary differs, its summary before and after."""
    return {
        channel: {"before": dict(before[channel]), "after": dict(after[channel])}
        for channel in after
        if channel in before and before[channel] != after[channel]
    }


def person_balance_changed_record(
    *,
    person_id: int,
    city_id: int | None,
    now: datetime,
    cause: str,
    channels: Mapping[str, Mapping[str, Any]],
) -> Event | None:
    """Record one ``person.balance.changed`` for the channels that changed (none: nothing)."""
    if not channels:
        return None
    return event_record(
        type=EventType.PERSON_BALANCE_CHANGED,
        now=now,
        object_type=OBJECT_PERSON,
        object_id=person_id,
        data={"cause": cause, "exact": True, "channels": dict(channels)},
        city_id=city_id,
        person_id=person_id,
    )
