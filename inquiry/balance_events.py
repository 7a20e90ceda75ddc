"""Diagnosing one person before and after a change to their facts, for ``person.balance.changed``
(see ``events.balance``): the same pure diagnosis every channel answers with. Of the platform's
load only the city's forced busy switch counts (PLATFORM_BUSY from the traffic comes and goes by
the second, with no change to report)."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from common import clock
from events.balance import balance_changes, person_balance_changed_record
from inquiry.channels import Channel
from inquiry.diagnosis import Diagnosis, PlatformBusy, diagnose
from inquiry.facts import balance_facts
from persons.models import InsuredPerson


def balance_summary(diagnosis: Diagnosis) -> dict[str, Any]:
    codes = [reason.code.value for reason in diagnosis.reasons]
    return {
        "visible": diagnosis.visible,
        "primary_reason": codes[0] if codes else None,
        "reasons": codes,
    }


def _summaries(person_id: int, now: datetime) -> tuple[int | None, dict[str, dict[str, Any]]]:
    try:
        facts = balance_facts(year=clock.localdate(now).year, person_id=person_id)
    except InsuredPerson.DoesNotExist:
        return None, {}
    busy = PlatformBusy(retry_after=0) if facts.platform.forced_busy else None
    summaries = {
        channel.value: balance_summary(
            diagnose(facts, channel=channel, now=now, platform_busy=busy)
        )
        for channel in Channel
    }
    return facts.platform.city_id, summaries


def balance_watch_receiver(
    sender, *, person_id: int, now: datetime, cause: str, **kwargs
) -> Callable[[], None]:
    """Diagnose now; answer the function that diagnoses again after the change and records what
    differs."""
    _, before = _summaries(person_id, now)

    def finish() -> None:
        city_id, after = _summaries(person_id, now)
        person_balance_changed_record(
            person_id=person_id,
            city_id=city_id,
            now=now,
            cause=cause,
            channels=balance_changes(before, after),
        )

    return finish
