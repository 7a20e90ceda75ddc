"""Settlement throughput through the service layer, and under contention on one account.

Preparation (not timed): a city, a designated level-3 hospital, and P persons built by the
scenario builder (card and e-voucher active, credited), each with a funded personal account so
the personal account pays its share of every settlement.

Measured, with C client processes at once (each its own database connection):
- spread: each process settles its own persons (``settlement.services.settlement_submit``, an
  outpatient visit of three catalog lines paid by the pool, the personal account and cash);
- one account: every process settles the same person, so every settlement waits for the
  same usage row and personal account;
- the floor of each: ``accounts.services.transfer_post`` of the equivalent legs (pool and personal
  account to the hospital) with the same processes and persons, without the settlement
  calculation, catalog, usage or settlement rows.

    .venv/bin/python bench/settlement.py [--size 2000] [--clients 4] [--persons 40]
"""

import multiprocessing
import queue
import secrets
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

LINES = [
    ("S110200001", "1", "30.00"),  # general outpatient consultation, class A
    ("S250101001", "1", "25.00"),  # complete blood count, class A
    ("XC10AAA013B001", "2", "36.50"),  # atorvastatin, class B
]
FUNDING = Decimal("1000000.00")


def prepare(persons: int) -> dict:
    import random

    from accounts.models import Account, Transfer
    from accounts.services import Leg, transfer_post
    from cards.credentials import PresentedCredential
    from cards.services import card_pin_verify
    from common import clock
    from institutions.models import Institution
    from provisioning.services import institution_register
    from sandbox.scenarios import DEMO_PIN, PersonSpec, build_person
    from sandbox.world import sandbox_city
    from users.services import terminal_create

    city = sandbox_city("standard")
    hospital = institution_register(
        code="HBENCH0001",
        name="Benchmark Level-3 Hospital",
        kind=Institution.Kind.HOSPITAL,
        level=3,
        city=city,
    )
    source = Account.objects.get(city=city, kind=Account.Kind.CONTRIBUTION_SOURCE)
    people = []
    for index in range(persons):
        built = build_person(PersonSpec(), rng=random.Random(index))
        person = built.person
        account = Account.objects.get(person=person, kind=Account.Kind.PERSONAL)
        transfer_post(
            kind=Transfer.Kind.ADJUSTMENT,
            key=f"bench-funding:{account.pk}",
            memo="Benchmark funding",
            legs=[Leg(account.pk, FUNDING), Leg(source.pk, -FUNDING)],
        )
        card = person.cards.order_by("-id").first()
        # The cardholder's PIN, checked once here (not timed): a settlement from the personal
        # account with a card needs it.
        credential = card_pin_verify(
            credential=PresentedCredential("CARD", card.number, person.pk),
            pin=DEMO_PIN,
            now=clock.now(),
        )
        people.append(
            {
                "person": person.pk,
                "credential": credential,
                "account": account.pk,
            }
        )
    pool = Account.objects.get(city=city, kind=Account.Kind.EMPLOYEE_POOL)
    terminal = terminal_create(
        username="bench-terminal", password=secrets.token_urlsafe(16), institution=hospital
    )
    return {
        "terminal": terminal.pk,
        "institution": hospital.pk,
        "institution_account": hospital.account.pk,
        "pool": pool.pk,
        "people": people,
    }


def _settle_worker(kind: str, world: dict, people: list[dict], count: int, tag: str, start, out):
    """One client process: ``count`` settlements (or floor transfers) over ``people``."""
    from django.db import connections

    from accounts.models import Transfer
    from accounts.services import Leg, transfer_post
    from institutions.models import Institution
    from settlement.services import LineInput, settlement_submit
    from users.models import User

    connections.close_all()
    institution = Institution.objects.get(pk=world["institution"])
    terminal = User.objects.get(pk=world["terminal"])
    lines = [LineInput(code, Decimal(qty), Decimal(price)) for code, qty, price in LINES]
    start.wait()
    began = time.perf_counter()
    latencies = []
    for number in range(count):
        who = people[number % len(people)]
        t0 = time.perf_counter()
        if kind == "settle":
            settlement_submit(
                institution=institution,
                credential=who["credential"],
                visit_type="OUTPATIENT",
                lines=lines,
                use_personal_account=True,
                by=terminal,
            )
        else:
            pool_amount, account_amount = Decimal("40.00"), Decimal("25.00")
            transfer_post(
                kind=Transfer.Kind.SETTLEMENT,
                key=f"bench-floor:{tag}:{number}",
                memo="Benchmark floor",
                by=terminal,
                legs=[
                    Leg(world["pool"], -pool_amount),
                    Leg(who["account"], -account_amount),
                    Leg(world["institution_account"], pool_amount + account_amount),
                ],
            )
        latencies.append(time.perf_counter() - t0)
    out.put((time.perf_counter() - began, latencies))
    connections.close_all()


def run_clients(kind: str, world: dict, clients: int, total: int, shared: bool, tag: str):
    """(settlements per second, p50 ms, p99 ms) of ``total`` operations over ``clients``."""
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    start = context.Barrier(clients + 1)
    out = context.Queue()
    people = world["people"]
    per_client = total // clients
    processes = []
    for client in range(clients):
        mine = people[:1] if shared else people[client::clients]
        process = context.Process(
            target=_settle_worker,
            args=(kind, world, mine, per_client, f"{tag}:{client}", start, out),
        )
        process.start()
        processes.append(process)
    start.wait()
    began = time.perf_counter()
    results = []
    while len(results) < clients:
        try:
            results.append(out.get(timeout=1))
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
    latencies = sorted(latency for _, client_latencies in results for latency in client_latencies)
    done = len(latencies)

    def percentile(share: float) -> float:
        return latencies[min(done - 1, int(share * done))] * 1000

    return done / elapsed, percentile(0.50), percentile(0.99)


def main() -> None:
    args, report = harness.start(
        "settlement",
        "Settlement",
        "Settlements through the service layer, spread over persons and on one account, against "
        "transfer_post of the equivalent legs.",
        2000,
        clients=4,
        persons=40,
    )
    from django.db import connection

    from accounts.models import Account, Entry
    from settlement.models import Settlement

    with harness.step(f"build {args.persons} persons with funded accounts"):
        world = prepare(max(args.persons, args.clients))
    harness.settle_database()

    figures = {}
    for shared in (False, True):
        label = "one account" if shared else "spread"
        for kind in ("floor", "settle"):
            with harness.step(f"{kind}, {label}"):
                figures[(kind, shared)] = run_clients(
                    kind, world, args.clients, args.size, shared, f"{label}"
                )
    settled = Settlement.objects.count()
    expected = 2 * (args.size // args.clients) * args.clients
    if settled != expected:
        raise SystemExit(f"expected {expected} settlements, found {settled}")
    connection.ensure_connection()
    negative = Account.objects.filter(kind=Account.Kind.PERSONAL, row_balance__lt=0).count()
    entries = Entry.objects.count()

    for shared in (False, True):
        label = (
            "one account (all clients, one person)"
            if shared
            else f"spread ({len(world['people'])} persons)"
        )
        rate, p50, p99 = figures[("settle", shared)]
        floor_rate, floor_p50, floor_p99 = figures[("floor", shared)]
        report.add(
            f"settlements/s, {label}",
            rate,
            "/s",
            floor=floor_rate,
            target="recorded (no target)",
            note=f"settlement p50 {p50:.1f} ms, p99 {p99:.1f} ms; floor (transfer_post) p50 "
            f"{floor_p50:.1f} ms, p99 {floor_p99:.1f} ms",
        )
    report.details.append(
        f"{args.clients} client processes, {args.size // args.clients * args.clients:,} "
        f"operations per measurement; every settlement: 3 lines, outpatient, level-3 hospital, "
        f"personal account paying; {entries:,} ledger entries afterwards, {negative} negative "
        "personal balances"
    )
    report.note(
        "the city's pool and the hospital's account are striped (settings.LEDGER_STRIPING), so "
        "settlements spread over persons lock only each person's rows; bench/settlement_scale.py "
        "compares striping off and on, with the lock waits of each"
    )
    harness.finish(args, report)


if __name__ == "__main__":
    main()
