"""Balance query throughput and latency: ``GET /api/v1/me/balance`` under gunicorn.

Preparation (not timed): a city with a generated population of N persons and accounts, the
month's contributions collected and credited and the city uploaded (so the tables the query reads
are of a city's size), and one person per scenario built
by the project's scenario builder: the balance visible, and hidden (or zero) by each reason. The
query capacity of every city used is raised so that the limiter never trips, except in the city
whose platform is switched to busy.

Measured, with the production settings, PostgreSQL and Redis, gunicorn (sync workers), and the
load from processes of their own: wrk (closed-loop) for the peaks, the open-loop generator of
bench/loadgen.py for the paced runs (a constant arrival rate, each latency counted from the
request's scheduled send time, as wrk2 does, so a stall of the server is not hidden):
- the floor: ``GET /api/v1/me`` (authenticated, trivial) under the same server: its peak
  requests per second, measured before and after each scenario (each scenario's ratio is to the
  mean of the two runs around it), and its p50, p99 and max at half its mean peak rate;
- for each scenario, the balance query's peak requests per second, p50 and p99 at the peak, and
  its p50, p99 and max at half the floor's peak rate, open-loop, with the rate achieved;
- SQL queries per request, counted with Django's CaptureQueriesContext through the test client in
  this process, against the same database.

    .venv/bin/python bench/balance.py [--size 1000000] [--duration 10] [--workers 0]
"""

import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

RPS_RATIO_TARGET = 0.7
P99_TARGET_MS = 25.0
QUERIES_TARGET = 3
# Connections the open-loop generator may have in flight at once: far more than the server's
# workers, so that the generator never holds back a request that is due.
OPEN_LOOP_CONNECTIONS = 64
FLOOR_PATH = "/api/v1/me"
BALANCE_PATH = "/api/v1/me/balance"
WORKER_CANDIDATES = (2, 3, 4)
BIG_CAPACITY = 1_000_000_000


def scenario_codes() -> list[str]:
    from accounts.reasons import ReasonCode

    return ["BALANCE_VISIBLE", *[code.value for code in ReasonCode]]


def prepare(size: int) -> dict[str, str]:
    """The population and one person per scenario; returns scenario code -> Authorization."""
    from bench.world import city_with_population
    from cities.models import City
    from cities.services import city_set_switches
    from sandbox.scenarios import SCENARIOS, build_person

    city_with_population(size, collect=True, credit=True, upload=True)
    tokens = {}
    with harness.step("build one person per scenario"):
        for index, code in enumerate(scenario_codes()):
            built = build_person(SCENARIOS[code].spec, rng=random.Random(index))
            tokens[code] = built.authorization
    for city in City.objects.filter(platform_busy_forced=False):
        city_set_switches(city=city, query_capacity=BIG_CAPACITY)
    harness.settle_database()
    return tokens


def check_and_count(tokens: dict[str, str]) -> tuple[dict[str, list[int]], dict[str, dict]]:
    """Per path (and scenario): SQL queries of five requests, and the balance answer."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from sandbox.scenarios import SCENARIOS

    client = Client()
    counts: dict[str, list[int]] = {}
    answers: dict[str, dict] = {}
    targets = [("floor", FLOOR_PATH, tokens["BALANCE_VISIBLE"])] + [
        (code, BALANCE_PATH, token) for code, token in tokens.items()
    ]
    for key, path, authorization in targets:
        counts[key] = []
        for _ in range(5):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path, HTTP_AUTHORIZATION=authorization, HTTP_HOST="127.0.0.1")
            if response.status_code != 200:
                raise SystemExit(
                    f"{path} for {key} answered {response.status_code}: {response.content!r}"
                )
            counts[key].append(len(queries))
        if key == "floor":
            continue
        body = response.json()
        answers[key] = body
        expected = [str(reason) for reason in SCENARIOS[key].reasons]
        got = [reason["code"] for reason in body["reasons"]]
        if got != expected or body["visible"] != SCENARIOS[key].visible:
            raise SystemExit(
                f"scenario {key}: expected visible={SCENARIOS[key].visible} {expected}, "
                f"got visible={body['visible']} {got}"
            )
    return counts, answers


def pick_workers(env, tokens, seconds: float, connections: int) -> tuple[int, dict[int, float]]:
    from bench.loadgen import Server, wrk

    trials = {}
    for workers in WORKER_CANDIDATES:
        with Server(workers, env) as server:
            server.wait_ready(FLOOR_PATH, tokens["BALANCE_VISIBLE"])
            url = server.base_url + FLOOR_PATH
            wrk(url, authorization=tokens["BALANCE_VISIBLE"], seconds=1, connections=connections)
            result = wrk(
                url,
                authorization=tokens["BALANCE_VISIBLE"],
                seconds=seconds,
                connections=connections,
            )
            trials[workers] = result.rps
            harness.log(f"{workers} workers: {result.rps:,.0f} req/s on {FLOOR_PATH}")
    best = max(trials, key=trials.get)
    return best, trials


def main() -> None:
    args, report = harness.start(
        "balance",
        "Balance query",
        "GET /api/v1/me/balance for every scenario under gunicorn, against GET /api/v1/me.",
        1_000_000,
        duration=10.0,
        workers=0,
        connections=8,
    )
    import os

    from django.db import connections as db_connections

    from bench import loadgen
    from bench.loadgen import Server, wrk, wrk_path

    wrk_path()
    tokens = prepare(args.size)
    counts, _ = check_and_count(tokens)
    db_connections.close_all()
    harness.redis_flush()
    env = dict(os.environ)
    duration = args.duration
    conns = args.connections

    if args.workers:
        workers, trials = args.workers, {}
    else:
        with harness.step("choose the number of gunicorn workers"):
            workers, trials = pick_workers(env, tokens, max(2.0, duration / 2), conns)

    floor_token = tokens["BALANCE_VISIBLE"]
    peaks, paced, floors = {}, {}, {}
    with Server(workers, env) as server, harness.step(f"load with {workers} workers"):
        server.wait_ready(FLOOR_PATH, floor_token)
        floor_url = server.base_url + FLOOR_PATH
        balance_url = server.base_url + BALANCE_PATH
        # Warm both paths alike (each worker's first requests load code and prepare statements).
        wrk(floor_url, authorization=floor_token, seconds=2, connections=conns)
        wrk(balance_url, authorization=floor_token, seconds=2, connections=conns)
        # The floor runs before and after each scenario: each scenario's ratio is to the mean of
        # the two floor runs around it, so a change in the machine's load between scenarios
        # weighs on both sides of the ratio alike.
        floor_runs = [
            wrk(floor_url, authorization=floor_token, seconds=duration, connections=conns)
        ]
        for code, token in tokens.items():
            peaks[code] = wrk(balance_url, authorization=token, seconds=duration, connections=conns)
            floor_runs.append(
                wrk(floor_url, authorization=floor_token, seconds=duration, connections=conns)
            )
            floors[code] = statistics.mean([floor_runs[-2].rps, floor_runs[-1].rps])
            harness.log(
                f"{code}: {peaks[code].rps:,.0f} req/s (floor {floors[code]:,.0f}), "
                f"p99 {peaks[code].p99_ms:.1f} ms"
            )
        floor_rps = statistics.mean(run.rps for run in floor_runs)
        half = floor_rps / 2
        open_loop = {"seconds": duration, "rate": half, "connections": OPEN_LOOP_CONNECTIONS}
        floor_paced = loadgen.paced(floor_url, authorization=floor_token, **open_loop)
        for code, token in tokens.items():
            paced[code] = loadgen.paced(balance_url, authorization=token, **open_loop)

    floor_queries = counts["floor"][-1]
    all_paced = [floor_paced, *paced.values()]
    report.details += [
        f"server: gunicorn, {workers} sync workers"
        + (
            " (of "
            + ", ".join(f"{w}: {rps:,.0f} req/s" for w, rps in trials.items())
            + " on the floor)"
            if trials
            else ""
        )
        + f"; wrk: 1 thread, {conns} connections, {duration:.0f} s per measurement",
        f"floor GET {FLOOR_PATH}: {len(floor_runs)} runs between the scenarios, "
        f"{min(run.rps for run in floor_runs):,.0f} to {max(run.rps for run in floor_runs):,.0f} "
        f"req/s (mean {floor_rps:,.0f}); at {half:,.0f} req/s open-loop "
        f"({floor_paced.rps:,.0f} achieved) p50 {floor_paced.p50_ms:.1f} ms, "
        f"p99 {floor_paced.p99_ms:.1f} ms, max {floor_paced.max_ms:.1f} ms; "
        f"{floor_queries} SQL queries per request",
        f"open-loop generator: {OPEN_LOOP_CONNECTIONS} connections, {duration:.0f} s per run; "
        f"sent at most {max(run.send_lag_max_ms for run in all_paced):.1f} ms after schedule "
        f"(p99 {max(run.send_lag_p99_ms for run in all_paced):.1f} ms); its CPU "
        f"{max(run.cpu_seconds for run in all_paced) / duration:.0%} of a core at most",
        "",
    ]
    detail_lines = []
    for code in tokens:
        peak, slow = peaks[code], paced[code]
        detail_lines.append(
            [
                code,
                f"{peak.rps:,.0f}",
                f"{floors[code]:,.0f}",
                f"{peak.p50_ms:.1f}",
                f"{peak.p99_ms:.1f}",
                f"{slow.rps:,.0f}",
                f"{slow.p50_ms:.1f}",
                f"{slow.p99_ms:.1f}",
                f"{slow.max_ms:.1f}",
                str(counts[code][-1]),
                str(peak.errors + slow.errors),
            ]
        )
    report.details += harness.text_table(
        [
            f"GET {BALANCE_PATH}",
            "peak req/s",
            "floor req/s",
            "p50 ms",
            "p99 ms",
            "paced req/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "queries",
            "errors",
        ],
        detail_lines,
    )

    for code in tokens:
        peak, slow, queries = peaks[code], paced[code], counts[code]
        label = "visible" if code == "BALANCE_VISIBLE" else code
        report.add(
            f"{label}: req/s",
            peak.rps,
            "",
            floor=floors[code],
            target=f">= {RPS_RATIO_TARGET:.2f} x floor",
            met=peak.rps >= RPS_RATIO_TARGET * floors[code] and peak.errors == 0,
        )
        report.add(
            f"{label}: p99 at {half:,.0f} req/s",
            slow.p99_ms,
            "ms",
            floor=floor_paced.p99_ms,
            target=f"< {P99_TARGET_MS:.0f} ms",
            met=slow.p99_ms < P99_TARGET_MS and slow.errors == 0,
        )
        report.add(
            f"{label}: SQL queries/request",
            queries[-1],
            "",
            floor=floor_queries,
            target=f"<= {QUERIES_TARGET}, fixed",
            met=max(queries) <= QUERIES_TARGET and len(set(queries)) == 1,
        )
    report.note(
        "the peak columns are wrk's (closed-loop: the most the server answers); the paced "
        f"columns are open-loop at {half:,.0f} req/s, half the floor's peak: request i due at "
        "t0 + i / rate, its latency from then, so waiting for a stalled server counts; "
        "paced req/s is the rate achieved"
    )
    harness.finish(args, report)


if __name__ == "__main__":
    main()
