"""The monthly crediting run with the event log on and off, on PostgreSQL.

Preparation (not timed): two cities of the same profile (the sandbox's standard Hangzhou and a
twin with the same switches), each with a generated population of N persons with personal
accounts (sandbox.population), and each month's contributions collected by the project's own
collection job.

Timed, the same run series with events off and on, alternating which city and which setting goes
first:
- last month, the accounts' first crediting: city A with events off, then city B with events on
  (each account gets crediting.posted, and person.balance.changed where its answer changes);
- this month, a second crediting: city A with events on, then city B with events off
  (crediting.posted only: no answer changes).

The events-off run is the floor; the ratio is on / off, per month.

    .venv/bin/python bench/crediting_events.py [--size 1000000]
"""

import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

FULL_SIZE = 1_000_000
RATIO_TARGET = 1.15
TWIN_CODE = "340100"


def twin_city():
    """A second city with the standard profile's switches (another code, so its generated
    persons' ID numbers differ)."""
    from provisioning.services import city_provision
    from sandbox.world import CITY_PROFILES, sandbox_city

    standard = CITY_PROFILES["standard"]
    sandbox_city("standard")  # provisions the profile's agency contact the twin copies
    return city_provision(code=TWIN_CODE, name="Hangzhou twin", **standard.switches)


def populate(city, size: int, enrolled_on) -> None:
    from sandbox.population import population_generate

    with harness.step(f"generate {size:,} persons in {city.code}"):
        population_generate(city=city, persons=size, enrolled_on=enrolled_on)


def collect(city, period) -> None:
    from accounts.crediting import contribution_collection_execute, contribution_collection_open

    with harness.step(f"collect {period:%Y-%m} in {city.code}"):
        job, _ = contribution_collection_open(city=city, period=period)
        contribution_collection_execute(collection_id=job.id)


def timed_run(city, period, *, events: bool) -> tuple[float, int, int]:
    """One crediting run with recording on or off: (seconds, credits posted, events recorded)."""
    from django.conf import settings

    from accounts.crediting import crediting_run_execute, crediting_run_open
    from accounts.models import Crediting
    from events.models import Event

    settings.EVENTS_ENABLED = events
    events_before = Event.objects.count()
    harness.settle_database()
    label = "on" if events else "off"
    with (
        harness.step(f"credit {period:%Y-%m} in {city.code}, events {label}"),
        harness.Timer() as t,
    ):
        run, _ = crediting_run_open(city=city, period=period)
        crediting_run_execute(run_id=run.id)
    settings.EVENTS_ENABLED = True
    credited = Crediting.objects.filter(run=run).count()
    return t.seconds, credited, Event.objects.count() - events_before


def main() -> None:
    args, report = harness.start(
        "crediting_events",
        "Monthly crediting with events",
        "A month's crediting of N personal accounts with the event log on, against the same run "
        "with it off, alternating cities and order.",
        FULL_SIZE,
    )
    from common import clock
    from sandbox.world import sandbox_city

    this_month = clock.today().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    city_a, city_b = sandbox_city("standard"), twin_city()
    for city in (city_a, city_b):
        populate(city, args.size, last_month)
        collect(city, last_month)

    first_off = timed_run(city_a, last_month, events=False)
    first_on = timed_run(city_b, last_month, events=True)
    for city in (city_a, city_b):
        collect(city, this_month)
    second_on = timed_run(city_a, this_month, events=True)
    second_off = timed_run(city_b, this_month, events=False)

    for title, on, off in (
        (f"first crediting ({last_month:%Y-%m})", first_on, first_off),
        (f"second crediting ({this_month:%Y-%m})", second_on, second_off),
    ):
        on_seconds, on_credits, on_events = on
        off_seconds, off_credits, off_events = off
        if on_credits != off_credits:
            report.note(
                f"WARNING: {title}: {on_credits:,} credits with events, {off_credits:,} without"
            )
        report.add(
            f"{title}, events on",
            on_seconds,
            "s",
            floor=off_seconds,
            target=f"<= {RATIO_TARGET:.2f} x events off",
            met=on_seconds / off_seconds <= RATIO_TARGET and off_events == 0,
            note=f"{on_credits:,} credits and {on_events:,} events with the log on; "
            f"{off_credits:,} credits and {off_events} events in {off_seconds:.1f} s with it off",
        )
    total_on = first_on[0] + second_on[0]
    total_off = first_off[0] + second_off[0]
    report.note(
        f"both months: {total_on:.1f} s with events, {total_off:.1f} s without, "
        f"ratio {total_on / total_off:.3f}"
    )
    harness.finish(args, report)


if __name__ == "__main__":
    main()
