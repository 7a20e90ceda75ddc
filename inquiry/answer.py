"""What a channel answers about a person's balance now: the one call the interface makes, with
the time it read from the domain's clock. It reads the person's facts in one SQL query, asks the
city's query limiter once, and only where the online channel goes to the city's platform, then
hands the limiter's answer to the pure diagnosis."""

from collections.abc import Sequence
from datetime import datetime

from django.db.models import QuerySet

from cities.limiter import busy_answer_record, platform_admit
from common import clock
from inquiry.channels import Channel
from inquiry.diagnosis import Diagnosis, PlatformBusy, asks_platform, diagnose
from inquiry.facts import BalanceFacts, balance_facts, balance_facts_of_persons


def platform_busy_now(facts: BalanceFacts, *, count: bool) -> PlatformBusy | None:
    """The limiter's answer for the person's city. With ``count`` false (an operator or the demo
    page looking on), the answer a query would get, without counting one."""
    quota = facts.platform
    retry_after = platform_admit(
        city_id=quota.city_id,
        capacity=quota.capacity,
        window_seconds=quota.window_seconds,
        forced_busy=quota.forced_busy,
        count=count,
    )
    return None if retry_after is None else PlatformBusy(retry_after)


def balance_inquire(
    *,
    channel: str,
    now: datetime,
    user_id: int | None = None,
    person_id: int | None = None,
    visible: QuerySet | None = None,
    count_query: bool = True,
    credential: str | None = None,
) -> Diagnosis:
    """What ``channel`` answers at ``now`` for the person with that login or id (within
    ``visible``, the caller's visible persons, when given; see ``balance_facts``). On the online
    channel of a launched city the query counts against the city's platform unless
    ``count_query`` is false. ``credential`` is the kind a terminal presented (see
    ``diagnose``). Raises ``InsuredPerson.DoesNotExist``."""
    facts = balance_facts(
        year=clock.localdate(now).year, user_id=user_id, person_id=person_id, visible=visible
    )
    busy = platform_busy_now(facts, count=count_query) if asks_platform(facts, channel) else None
    if busy is not None and count_query:
        busy_answer_record(city_id=facts.platform.city_id, day=clock.localdate(now))
    return diagnose(facts, channel=channel, now=now, platform_busy=busy, credential=credential)


def balance_every_channel(*, person_id: int, now: datetime) -> dict[Channel, Diagnosis]:
    """What each channel would answer at ``now`` (for operators looking on): one SQL query, and
    the limiter asked once, without counting. The institution channel's is its answer for the
    card presented."""
    facts = balance_facts(year=clock.localdate(now).year, person_id=person_id)
    busy = platform_busy_now(facts, count=False) if asks_platform(facts, Channel.ONLINE) else None
    return {
        channel: diagnose(facts, channel=channel, now=now, platform_busy=busy)
        for channel in Channel
    }


def balance_every_channel_of_persons(
    *, person_ids: Sequence[int], now: datetime
) -> dict[int, dict[Channel, Diagnosis]]:
    """What each channel would answer at ``now`` for each of several persons (a page of the
    console's list): their facts in one SQL query, and each city's limiter asked once, without
    counting. Ids that match no one are left out."""
    people = balance_facts_of_persons(year=clock.localdate(now).year, person_ids=person_ids)
    busy_by_city: dict[int, PlatformBusy | None] = {}
    answers = {}
    for person_id, facts in people.items():
        city_id = facts.platform.city_id
        if asks_platform(facts, Channel.ONLINE) and city_id not in busy_by_city:
            busy_by_city[city_id] = platform_busy_now(facts, count=False)
        busy = busy_by_city.get(city_id)
        answers[person_id] = {
            channel: diagnose(facts, channel=channel, now=now, platform_busy=busy)
            for channel in Channel
        }
    return answers
