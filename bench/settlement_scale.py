"""Settlement at scale: whether any row serialises the settlements of a city.

Preparation (not timed): persons built by the scenario builder (card and e-voucher active,
credited), each with a funded personal account, in two worlds of the same size:
- concentrated: every person insured in one city (Hangzhou) and treated at one hospital there;
- spread: the persons spread over the sandbox's cities (seven), each treated at a hospital of
  their own city (one hospital per city).
Every person first settles one large inpatient visit (not timed) that uses up the year's
deductible, so every timed settlement moves money from the pool, as the floor does.

Measured, with C client processes at once (each its own database connection), each client
settling its own persons (an inpatient visit of three catalog lines, paid by the pool, the personal
account and cash), once with ledger striping off (settings.LEDGER_STRIPING: every posting writes
the accounts' own rows, as before striping) and once on:
- floor: ``accounts.services.transfer_post`` of the equivalent legs (pool and personal account to
  the hospital) on the concentrated world, without the settlement calculation, catalog, usage or
  settlement rows;
- concentrated: ``settlement.services.settlement_submit`` on the concentrated world;
- spread: the same on the spread world.
Ratios: concentrated against the floor (target 0.8), concentrated against spread (target 0.9).

While each runs, a sampler polls pg_stat_activity every 10 ms for the clients' backends waiting
for a heavyweight lock (row locks: wait_event_type Lock), and names the table of the row waited
for (pg_locks, locktype tuple); samples x 10 ms estimates the time spent waiting.

    .venv/bin/python bench/settlement_scale.py [--size 1200] [--clients 4] [--persons 40]
"""

import multiprocessing
import queue
import random
import secrets
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

LINES = [
    ("S110200001", "1", "30.00"),  # general outpatient consultation, class A
    ("S250101001", "1", "25.00"),  # complete blood count, class A
    ("XC10AAA013B001", "2", "36.50"),  # atorvastatin, class B
]
# Above every city's inpatient deductible: the warm-up visit that uses it up.
WARM_UP_LINES = [("S110200001", "60", "30.00")]
FUNDING = Decimal("1000000.00")
SAMPLE_SECONDS = 0.01
# The sandbox's cities (profiles), each with a hospital in the spread world.
PROFILES = (
    "standard",
    "not_launched",
    "counter_only",
    "abolished",
    "no_channel",
    "busy",
    "small_platform",
)


# Accounts whose balance (own row and stripes) is not the sum of their entries, or past their rule.
LEDGER_CHECK = """
    SELECT b.id, b.balance, b.entries, b.kind FROM (
        SELECT a.id, a.kind,
               a.balance + COALESCE((SELECT SUM(s.balance) FROM accounts_accountstripe s
                                      WHERE s.account_id = a.id), 0) AS balance,
               COALESCE((SELECT SUM(e.amount) FROM accounts_entry e WHERE e.account_id = a.id), 0)
                   AS entries
          FROM accounts_account a) b
     WHERE b.balance <> b.entries
        OR (b.kind IN ('PERSONAL', 'PA_CLEARING', 'INSTITUTION') AND b.balance < 0)
        OR (b.kind = 'SOURCE' AND b.balance > 0)
"""


def _hospital(profile: str, index: int) -> dict:
    from institutions.models import Institution
    from provisioning.services import institution_register
    from sandbox.world import sandbox_city
    from users.services import terminal_create

    city = sandbox_city(profile)
    hospital = institution_register(
        code=f"HSCALE{index:04d}",
        name=f"Benchmark hospital {index}",
        kind=Institution.Kind.HOSPITAL,
        level=3,
        city=city,
    )
    terminal = terminal_create(
        username=f"bench-scale-{index}", password=secrets.token_urlsafe(16), institution=hospital
    )
    return {"institution": hospital.pk, "terminal": terminal.pk, "city": city.pk}


def _person(profile: str, seed: int, hospital: dict) -> dict:
    from accounts.models import Account, Transfer
    from accounts.services import Leg, transfer_post
    from cards.credentials import PresentedCredential
    from cards.services import card_pin_verify
    from common import clock
    from institutions.models import Institution
    from sandbox.scenarios import DEMO_PIN, PersonSpec, build_person
    from settlement.services import settlement_submit
    from users.models import User

    # Not uploaded: one of the cities never uploads, and settling reads no snapshot.
    spec = PersonSpec(city_profile=profile, uploaded=False)
    person = build_person(spec, rng=random.Random(seed)).person
    account = Account.objects.get(person=person, kind=Account.Kind.PERSONAL)
    source = Account.objects.get(city=person.city, kind=Account.Kind.CONTRIBUTION_SOURCE)
    transfer_post(
        kind=Transfer.Kind.ADJUSTMENT,
        key=f"bench-funding:{account.pk}",
        memo="Benchmark funding",
        legs=[Leg(account.pk, FUNDING), Leg(source.pk, -FUNDING)],
    )
    card = person.cards.order_by("-id").first()
    credential = card_pin_verify(
        credential=PresentedCredential("CARD", card.number, person.pk),
        pin=DEMO_PIN,
        now=clock.now(),
    )
    institution = Institution.objects.get(pk=hospital["institution"])
    settlement_submit(
        institution=institution,
        credential=credential,
        visit_type="INPATIENT",
        lines=_lines(WARM_UP_LINES),
        use_personal_account=True,
        by=User.objects.get(pk=hospital["terminal"]),
    )
    pool = Account.objects.get(city=person.city, kind=Account.Kind.EMPLOYEE_POOL)
    return {
        "person": person.pk,
        "credential": credential,
        "account": account.pk,
        "pool": pool.pk,
        "institution_account": institution.account.pk,
        **hospital,
    }


def _lines(lines):
    from settlement.services import LineInput

    return [LineInput(code, Decimal(qty), Decimal(price)) for code, qty, price in lines]


def prepare(persons: int) -> dict:
    """The two worlds, ``persons`` persons each."""
    concentrated_hospital = _hospital("standard", 0)
    spread_hospitals = [_hospital(profile, 1 + n) for n, profile in enumerate(PROFILES)]
    concentrated = [_person("standard", n, concentrated_hospital) for n in range(persons)]
    spread = [
        _person(PROFILES[n % len(PROFILES)], persons + n, spread_hospitals[n % len(PROFILES)])
        for n in range(persons)
    ]
    return {"concentrated": concentrated, "spread": spread}


class DatabaseClock:
    """Time a client spends in PostgreSQL: its statements (from sending to the last row read)
    and its commits. What a settlement costs there bounds its rate whatever Python does."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - began

    def install(self, connection) -> None:
        # For the rest of the client's life (execute_wrapper's block would end at once here).
        connection.execute_wrappers.append(self)
        connection.ensure_connection()
        commit = connection.connection.commit

        def timed_commit():
            began = time.perf_counter()
            try:
                commit()
            finally:
                self.seconds += time.perf_counter() - began

        connection.connection.commit = timed_commit


def _worker(kind: str, people: list[dict], count: int, tag: str, start, out, clocked=False):
    """One client process: ``count`` settlements (or floor transfers) over ``people``; with
    ``clocked``, also the time it spent in PostgreSQL."""
    from django.db import connection, connections

    from accounts.models import Transfer
    from accounts.services import Leg, transfer_post
    from institutions.models import Institution
    from settlement.services import settlement_submit
    from users.models import User

    connections.close_all()  # a new connection: it takes the striping setting (accounts.apps)
    institutions = {
        who["institution"]: Institution.objects.get(pk=who["institution"]) for who in people
    }
    terminals = {who["terminal"]: User.objects.get(pk=who["terminal"]) for who in people}
    lines = _lines(LINES)
    clock = DatabaseClock()
    if clocked:
        clock.install(connection)
    start.wait()
    began = time.perf_counter()
    for number in range(count):
        who = people[number % len(people)]
        if kind == "floor":
            pool_amount, account_amount = Decimal("80.00"), Decimal("20.00")
            transfer_post(
                kind=Transfer.Kind.SETTLEMENT,
                key=f"bench-floor:{tag}:{number}",
                memo="Benchmark floor",
                by=terminals[who["terminal"]],
                legs=[
                    Leg(who["pool"], -pool_amount),
                    Leg(who["account"], -account_amount),
                    Leg(who["institution_account"], pool_amount + account_amount),
                ],
            )
        else:
            settlement_submit(
                institution=institutions[who["institution"]],
                credential=who["credential"],
                visit_type="INPATIENT",
                lines=lines,
                use_personal_account=True,
                by=terminals[who["terminal"]],
            )
    out.put((time.perf_counter() - began, clock.seconds))
    connections.close_all()


class LockWaitSampler:
    """Polls, on its own connection, the backends of this database waiting for a heavyweight lock,
    and the table of the row each waits for."""

    QUERY = """
        SELECT a.wait_event_type,
               CASE WHEN a.wait_event_type = 'Lock' THEN
                   COALESCE((SELECT l.relation::regclass::text FROM pg_locks l
                              WHERE l.pid = a.pid AND l.locktype = 'tuple' LIMIT 1),
                            a.wait_event)
               ELSE a.wait_event END
          FROM pg_stat_activity a
         WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
           AND a.wait_event_type IN ('Lock', 'LWLock')
    """

    def __init__(self) -> None:
        import os

        import psycopg

        self.connection = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
        self.samples = 0
        self.waiting = Counter()
        # Waits for a page or an internal structure (LWLock: two transactions writing the same
        # index page, say), not for a row: what a hot row becomes once no row is waited for.
        self.latched = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples += 1
            for kind, what in self.connection.execute(self.QUERY).fetchall():
                (self.waiting if kind == "Lock" else self.latched)[what] += 1
            self._stop.wait(SAMPLE_SECONDS)

    def __enter__(self) -> "LockWaitSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.connection.close()

    @property
    def waits(self) -> int:
        return sum(self.waiting.values())

    def describe(self, clients: int) -> str:
        """How many client-samples waited for a lock, the share of the clients' time that
        estimates, and on which tables."""
        share = self.waits / max(1, self.samples * clients)
        tables = ", ".join(f"{name} {count}" for name, count in self.waiting.most_common(4))
        latched = sum(self.latched.values())
        latches = ", ".join(f"{name} {count}" for name, count in self.latched.most_common(3))
        return (
            f"{self.waits} of {self.samples * clients} client-samples waiting for a lock "
            f"({share:.0%} of the clients' time){': ' + tables if tables else ''}; "
            f"{latched} for a page or internal lock ({latched / max(1, self.samples * clients):.0%})"
            f"{': ' + latches if latches else ''}"
        )


def run_clients(
    kind: str, people: list[dict], clients: int, total: int, tag: str, clocked: bool = False
):
    """(operations per second, lock-wait sampler, seconds in PostgreSQL per operation when
    ``clocked``) of ``total`` operations over ``clients``."""
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    start = context.Barrier(clients + 1)
    out = context.Queue()
    per_client = total // clients
    processes = [
        context.Process(
            target=_worker,
            args=(
                kind,
                people[client::clients],
                per_client,
                f"{tag}:{client}",
                start,
                out,
                clocked,
            ),
        )
        for client in range(clients)
    ]
    for process in processes:
        process.start()
    with LockWaitSampler() as sampler:
        start.wait()
        began = time.perf_counter()
        done, in_database = 0, 0.0
        while done < clients:
            try:
                in_database += out.get(timeout=1)[1]
                done += 1
            except queue.Empty:
                if any(process.exitcode not in (None, 0) for process in processes):
                    for process in processes:
                        process.kill()
                    raise SystemExit(f"a {kind} client failed; see its traceback above") from None
        elapsed = time.perf_counter() - began
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"a {kind} client failed (exit code {process.exitcode})")
    return per_client * clients / elapsed, sampler, in_database / (per_client * clients)


def main() -> None:
    args, report = harness.start(
        "settlement_scale",
        "Settlement at scale",
        "Settlements concentrated on one city and hospital and spread over many, against "
        "transfer_post of the equivalent legs, with ledger striping off and on, and lock waits.",
        1200,
        clients=4,
        persons=40,
    )
    from django.conf import settings
    from django.db import connection

    from accounts.models import Account
    from settlement.models import Settlement

    persons = max(args.persons, args.clients)
    with harness.step(f"build {persons} persons in each world, with funded accounts"):
        world = prepare(persons)
    harness.settle_database()

    figures = {}
    for striping in (False, True):
        settings.LEDGER_STRIPING = striping
        mode = "on" if striping else "off"
        for kind, label in (
            ("floor", "concentrated"),
            ("settle", "concentrated"),
            ("settle", "spread"),
        ):
            with harness.step(f"striping {mode}: {kind}, {label}"):
                figures[(striping, kind, label)] = run_clients(
                    kind, world[label], args.clients, args.size, f"{mode}:{label}"
                )[:2]
    settings.LEDGER_STRIPING = True
    # One client: the work a settlement does against the floor's, with nothing to wait for.
    serial = max(2, args.size // (2 * args.clients))
    for kind in ("floor", "settle"):
        with harness.step(f"striping on, one client: {kind}, concentrated"):
            figures[(True, kind, "one client")] = run_clients(
                kind, world["concentrated"], 1, serial, "on:one client", clocked=True
            )
    connection.ensure_connection()
    settled = Settlement.objects.count()
    expected = 2 * persons + 4 * (args.size // args.clients) * args.clients + serial
    if settled != expected:
        raise SystemExit(f"expected {expected} settlements, found {settled}")
    wrong = harness.sql(LEDGER_CHECK)
    if wrong:
        raise SystemExit(f"ledger broken (account, balance, entries, kind): {wrong[:3]}")
    striped = Account.objects.filter(stripes__gt=1).count()

    for striping in (False, True):
        mode = "on" if striping else "off (as before)"
        floor, floor_waits = figures[(striping, "floor", "concentrated")]
        concentrated, concentrated_waits = figures[(striping, "settle", "concentrated")]
        spread, spread_waits = figures[(striping, "settle", "spread")]
        report.add(
            f"striping {mode}: settlements/s, one city and hospital, vs transfer_post floor",
            concentrated,
            "/s",
            floor=floor,
            target="≥ 0.8" if striping else "(before)",
            met=concentrated / floor >= 0.8 if striping else None,
            note=f"settlement lock waits: {concentrated_waits.describe(args.clients)}; floor: "
            f"{floor_waits.describe(args.clients)}",
        )
        report.add(
            f"striping {mode}: settlements/s, one city and hospital, vs spread over "
            f"{len(PROFILES)} cities and hospitals",
            concentrated,
            "/s",
            floor=spread,
            target="≥ 0.9" if striping else "(before)",
            met=concentrated / spread >= 0.9 if striping else None,
            note=f"spread lock waits: {spread_waits.describe(args.clients)}",
        )
    alone, _, alone_in_database = figures[(True, "settle", "one client")]
    alone_floor, _, floor_in_database = figures[(True, "floor", "one client")]
    report.add(
        "striping on, 1 client: settlements/s vs transfer_post floor (the work ratio)",
        alone,
        "/s",
        floor=alone_floor,
        target="recorded",
        note=f"{serial} of each; with no lock to wait for, {args.clients} clients on this "
        "machine's cores can reach about this ratio",
    )
    ceiling = (1 / alone_floor) / alone_in_database
    report.add(
        "striping on, 1 client: ms in PostgreSQL (statements and commit) per settlement vs per "
        "floor transfer",
        alone_in_database * 1000,
        "ms",
        floor=floor_in_database * 1000,
        target="recorded",
        note=f"the floor's whole transfer took {1000 / alone_floor:.2f} ms, Python included; a "
        f"settlement's statements and commit alone took {alone_in_database * 1000:.2f} ms, so "
        f"the work ratio cannot pass {ceiling:.2f} however little Python a settlement runs",
    )
    report.details.append(
        f"{args.clients} client processes, {args.size // args.clients * args.clients:,} "
        f"operations per measurement, {persons} persons per world; every settlement: 3 lines, "
        f"inpatient (deductible used up beforehand), level-3 hospital, pool and personal account "
        f"paying; {striped} striped accounts; every balance equals its entries afterwards"
    )
    report.note(
        "lock waits are sampled every 10 ms from pg_stat_activity (wait_event_type Lock), named by "
        "the table of the row waited for; on 2 cores the clients and PostgreSQL share the CPU, so "
        "once no lock holds it back a settlement runs at the ratio of the floor's work to its own "
        "(see README, Performance)"
    )
    harness.finish(args, report)


if __name__ == "__main__":
    main()
