"""Settlement through the national platform interface against the REST settlement, under gunicorn.

Preparation (not timed): a city, a designated level-3 hospital and its terminal (a token, and a
sign-in through 9001), P persons built by the scenario builder (e-voucher activated, credited)
with funded personal accounts, and, for every interface settlement to come, a registered
outpatient visit with its three fee lines (``settlement.visits``, as 2201 and 2204 leave it).
Before each measurement every person's app shows a fresh e-voucher code (a code lasts minutes).

Measured, with the production settings, gunicorn (sync workers) and C client processes, each
with one keep-alive connection, each settling its own persons:
- REST: ``POST /api/v1/settlements`` (the floor): the three lines, ``use_personal_account``,
  ``X-Presented-Credential: EVOUCHER <code>`` and a visit reference of its own;
- interface: ``POST /fsi/api/rsfComIfsService/callService`` with a 2207 envelope for one of
  the prepared visits, the same e-voucher code and ``acct_used_flag`` 1.
Both settle the same lines for the same persons, paid by the pool, the personal account and
cash, so the ratio is what the interface (envelope checks, message log, the visit) costs. Each is
measured twice, alternately, and the rate is their total over their time. Target: the interface
at 0.9 or more of the REST rate.

    .venv/bin/python bench/fsi.py [--size 1000] [--clients 4] [--persons 40] [--workers 2]
"""

import http.client
import json
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
SERVICE = "/fsi/api/rsfComIfsService/callService"
TARGET_RATIO = 0.9
ROUNDS = 2


def prepare(persons: int) -> dict:
    import random

    from knox.models import AuthToken

    from accounts.models import Account, Transfer
    from accounts.services import Leg, transfer_post
    from institutions.models import Institution
    from provisioning.services import institution_register
    from sandbox.scenarios import PersonSpec, build_person
    from sandbox.world import sandbox_city
    from users.services import terminal_create

    city = sandbox_city("standard")
    hospital = institution_register(
        code="HBENCHFSI1",
        name="Benchmark Level-3 Hospital",
        kind=Institution.Kind.HOSPITAL,
        level=3,
        city=city,
    )
    source = Account.objects.get(city=city, kind=Account.Kind.CONTRIBUTION_SOURCE)
    people = []
    for index in range(persons):
        person = build_person(PersonSpec(), rng=random.Random(index)).person
        account = Account.objects.get(person=person, kind=Account.Kind.PERSONAL)
        transfer_post(
            kind=Transfer.Kind.ADJUSTMENT,
            key=f"bench-funding:{account.pk}",
            memo="Benchmark funding",
            legs=[Leg(account.pk, FUNDING), Leg(source.pk, -FUNDING)],
        )
        people.append(person.pk)
    terminal = terminal_create(
        username="bench-fsi-terminal", password=secrets.token_urlsafe(16), institution=hospital
    )
    return {
        "institution": hospital.pk,
        "institution_code": hospital.code,
        "city_code": city.code,
        "terminal": terminal.pk,
        "authorization": f"Token {AuthToken.objects.create(terminal)[1]}",
        "people": people,
    }


def visits_prepare(world: dict, per_person: int) -> dict[int, list[str]]:
    """``per_person`` registered visits with their fee lines for every person (not timed)."""
    from cards.credentials import PresentedCredential
    from common import clock
    from institutions.models import Institution
    from settlement.visits import FeeLineInput, visit_fee_lines_upload, visit_register
    from users.models import User

    institution = Institution.objects.get(pk=world["institution"])
    terminal = User.objects.get(pk=world["terminal"])
    lines = [
        FeeLineInput(f"{number}", code, Decimal(qty), Decimal(price))
        for number, (code, qty, price) in enumerate(LINES, start=1)
    ]
    visits = {}
    now = clock.now()
    for person in world["people"]:
        credential = PresentedCredential("EVOUCHER", "prepared", person)
        visits[person] = []
        for _ in range(per_person):
            visit = visit_register(
                institution=institution,
                credential=credential,
                visit_type="OUTPATIENT",
                by=terminal,
                now=now,
            )
            visit_fee_lines_upload(visit=visit, lines=lines, by=terminal, now=now)
            visits[person].append(visit.mdtrt_id)
    return visits


def fresh_codes(people: list[int]) -> dict[int, str]:
    """The code each person's app shows now (issuing one retires the previous)."""
    from cards.services import evoucher_presentation_code_issue
    from persons.models import InsuredPerson

    return {
        person.pk: evoucher_presentation_code_issue(person=person).code
        for person in InsuredPerson.objects.filter(pk__in=people)
    }


def sign_in(server, world: dict) -> str:
    body = envelope(world, "9001", {"signIn": {"opter_no": "0001", "mac": "", "ip": "127.0.0.1"}})
    status, answer = post(
        http.client.HTTPConnection("127.0.0.1", server.port, timeout=30),
        SERVICE,
        body,
        world["authorization"],
    )
    if status != 200 or answer.get("infcode") != 0:
        raise SystemExit(f"sign-in refused: {answer}")
    return answer["output"]["signinoutb"]["sign_no"]


def envelope(world: dict, infno: str, input: dict, *, sign_no: str = "", sequence: int = 0):
    moment = time.strftime("%Y%m%d%H%M%S")
    return {
        "infno": infno,
        "msgid": f"{world['institution_code']}{moment}{sequence:08d}",
        "mdtrtarea_admvs": world["city_code"],
        "insuplc_admdvs": world["city_code"],
        "recer_sys_code": "FSI_LOCAL",
        "infver": "V1.0",
        "opter_type": "1",
        "opter": "0001",
        "opter_name": "Benchmark",
        "inf_time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "fixmedins_code": world["institution_code"],
        "fixmedins_name": "Benchmark Level-3 Hospital",
        "sign_no": sign_no,
        "input": input,
    }


def post(connection, path: str, body: dict, authorization: str, **headers) -> tuple[int, dict]:
    connection.request(
        "POST",
        path,
        body=json.dumps(body, ensure_ascii=False).encode(),
        headers={
            "Authorization": authorization,
            "Content-Type": "application/json",
            "Host": "127.0.0.1",
            **headers,
        },
    )
    response = connection.getresponse()
    return response.status, json.loads(response.read() or b"{}")


def _client(kind, port, world, jobs, sign_no, start, out):
    """One client process: its jobs, one request each, on one keep-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    start.wait()
    began = time.perf_counter()
    latencies = []
    for sequence, (person, code, mdtrt_id) in jobs:
        t0 = time.perf_counter()
        if kind == "rest":
            status, answer = post(
                connection,
                "/api/v1/settlements",
                {
                    "visit_type": "OUTPATIENT",
                    "visit_reference": f"REST-{sequence}",
                    "use_personal_account": True,
                    "line_items": [
                        {"code": item, "quantity": qty, "unit_price": price}
                        for item, qty, price in LINES
                    ],
                },
                world["authorization"],
                **{"X-Presented-Credential": f"EVOUCHER {code}"},
            )
            done = status == 201
        else:
            data = {
                "psn_no": str(person),
                "mdtrt_cert_type": "01",
                "mdtrt_cert_no": code,
                "med_type": "11",
                "psn_setlway": "01",
                "mdtrt_id": mdtrt_id,
                "insutype": "310",
                "acct_used_flag": "1",
            }
            status, answer = post(
                connection,
                SERVICE,
                envelope(world, "2207", {"data": data}, sign_no=sign_no, sequence=sequence),
                world["authorization"],
            )
            done = status == 200 and answer.get("infcode") == 0
        if not done:
            out.put(("error", f"{kind}: HTTP {status} {answer}"))
            return
        latencies.append(time.perf_counter() - t0)
    out.put(("done", (time.perf_counter() - began, latencies)))


def run_clients(kind, server, world, jobs, clients: int, sign_no: str):
    """(operations, seconds, latencies) of ``jobs`` over ``clients`` processes."""
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    start = context.Barrier(clients + 1)
    out = context.Queue()
    processes = [
        context.Process(
            target=_client,
            args=(kind, server.port, world, jobs[client::clients], sign_no, start, out),
        )
        for client in range(clients)
    ]
    for process in processes:
        process.start()
    start.wait()
    began = time.perf_counter()
    results = []
    while len(results) < clients:
        try:
            status, value = out.get(timeout=1)
        except queue.Empty:
            if any(process.exitcode not in (None, 0) for process in processes):
                for process in processes:
                    process.kill()
                raise SystemExit(f"a {kind} client failed; see its traceback above") from None
            continue
        if status == "error":
            for process in processes:
                process.kill()
            raise SystemExit(value)
        results.append(value)
    elapsed = time.perf_counter() - began
    for process in processes:
        process.join()
    latencies = [latency for _, client_latencies in results for latency in client_latencies]
    return len(latencies), elapsed, latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def main() -> None:
    args, report = harness.start(
        "fsi",
        "Settlement through the platform interface",
        "2207 settlements through the interface against REST settlements, under gunicorn.",
        1000,
        clients=4,
        persons=40,
        workers=2,
    )
    from bench.loadgen import Server
    from settlement.models import Settlement

    persons = max(args.persons, args.clients)
    per_round = max(args.size // (persons * ROUNDS), 1) * persons
    with harness.step(f"build {persons} persons with funded accounts"):
        world = prepare(persons)
    with harness.step(f"register {per_round * ROUNDS:,} visits with their fee lines"):
        visits = visits_prepare(world, per_round * ROUNDS // persons)
    harness.settle_database()

    totals = {"rest": [0, 0.0, []], "fsi": [0, 0.0, []]}
    sequence = 0
    with Server(args.workers, harness.server_environment(args.database)) as server:
        server.wait_ready("/api/v1/me", world["authorization"])
        sign_no = sign_in(server, world)
        for round_ in range(ROUNDS):
            for kind in ("rest", "fsi"):
                codes = fresh_codes(world["people"])
                jobs = []
                for index in range(per_round):
                    person = world["people"][index % persons]
                    mdtrt_id = visits[person].pop() if kind == "fsi" else ""
                    sequence += 1
                    jobs.append((sequence, (person, codes[person], mdtrt_id)))
                with harness.step(f"{kind}, round {round_ + 1}: {per_round:,} settlements"):
                    done, seconds, latencies = run_clients(
                        kind, server, world, jobs, args.clients, sign_no
                    )
                totals[kind][0] += done
                totals[kind][1] += seconds
                totals[kind][2] += latencies

    settled = Settlement.objects.count()
    expected = 2 * per_round * ROUNDS
    if settled != expected:
        raise SystemExit(f"expected {expected} settlements, found {settled}")
    rest_rate = totals["rest"][0] / totals["rest"][1]
    fsi_rate = totals["fsi"][0] / totals["fsi"][1]
    report.add(
        "2207 settlements/s through the interface (floor: REST settlements/s)",
        fsi_rate,
        "/s",
        floor=rest_rate,
        target=f"ratio >= {TARGET_RATIO}",
        met=fsi_rate / rest_rate >= TARGET_RATIO,
        note=f"interface p50 {percentile(totals['fsi'][2], 0.5):.1f} ms, p99 "
        f"{percentile(totals['fsi'][2], 0.99):.1f} ms; REST p50 "
        f"{percentile(totals['rest'][2], 0.5):.1f} ms, p99 "
        f"{percentile(totals['rest'][2], 0.99):.1f} ms",
    )
    report.details.append(
        f"server: gunicorn, {args.workers} sync workers; {args.clients} client processes with "
        f"keep-alive connections; {per_round * ROUNDS:,} settlements of each kind in {ROUNDS} "
        f"alternating rounds over {persons} persons; every settlement: 3 lines, outpatient, "
        "level-3 hospital, e-voucher, personal account paying"
    )
    report.note(
        "the interface's settlement also writes its message log row (request and response), "
        "checks the sign-in and locks and updates the visit; the REST settlement is not "
        "idempotent by key here (no Idempotency-Key), as a terminal usually sends it"
    )
    harness.finish(args, report)


if __name__ == "__main__":
    main()
