"""Webhook delivery: events recorded and committed, a real Celery worker (prefork, two pool
processes) on the Redis broker, and a receiver on loopback in a process of its own.

Preparation (not timed): a city, an operator of it with one endpoint taking every event type, the
receiver (a threaded ``http.server`` answering 204 to each POST and noting when each webhook-id
arrived) and the worker (``--worker-processes`` pool processes, 2 by default: one per core),
warmed up by one delivery.

Timed:
- the floor: the same number of POSTs of the same size sent straight to the receiver from this
  process, with the same connection pool and concurrency as the worker's (no database, no
  broker, no signing): what the receiver and the loopback can take;
- throughput: N events recorded in one transaction; from its commit until the receiver has every
  delivery (each signed, each attempt recorded): deliveries per second;
- latency at a light load: events recorded one per transaction, 20 a second; for each, from its
  commit to its arrival at the receiver: p50 and p99.

Production settings, except that the receiver is on loopback, which production refuses
(``WEBHOOK_ALLOW_PRIVATE_DESTINATIONS=true`` for this run).

    .venv/bin/python bench/webhooks.py [--size 5000] [--latency-events 200] [--worker-processes 2]
"""

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

FULL_SIZE = 5_000
RATE_TARGET = 500.0
LATENCY_RATE = 20.0  # events a second at the light load


# --- The receiver (a process of its own: `bench/webhooks.py receiver <port file>`) -----------


def serve_receiver(port_file: str) -> None:
    arrivals: dict[str, float] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length", "0")))
            webhook_id = self.headers.get("webhook-id", "")
            with lock:
                arrivals.setdefault(webhook_id, time.time())
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_GET(self):
            with lock:
                body = json.dumps(arrivals if self.path == "/arrivals" else len(arrivals)).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_DELETE(self):
            with lock:
                arrivals.clear()
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

    server = Server(("127.0.0.1", 0), Handler)
    Path(port_file).write_text(str(server.server_address[1]))
    server.serve_forever()


class ReceiverProcess:
    def __init__(self, workdir: Path) -> None:
        port_file = workdir / "receiver.port"
        port_file.unlink(missing_ok=True)
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, __file__, "receiver", str(port_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while not port_file.exists() or not port_file.read_text():
            if time.monotonic() > deadline:
                raise SystemExit("the receiver did not start")
            time.sleep(0.05)
        self.port = int(port_file.read_text())
        import urllib3

        self.http = urllib3.HTTPConnectionPool("127.0.0.1", self.port, maxsize=2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def count(self) -> int:
        return json.loads(self.http.request("GET", "/count").data)

    def arrivals(self) -> dict[str, float]:
        return json.loads(self.http.request("GET", "/arrivals").data)

    def reset(self) -> None:
        self.http.request("DELETE", "/")

    def wait_for(self, count: int, timeout: float) -> float:
        """Poll until ``count`` webhook-ids have arrived; answers the time.time() it was seen."""
        deadline = time.monotonic() + timeout
        while self.count() < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {self.count():,} of {count:,} deliveries arrived in time")
            time.sleep(0.01)
        return time.time()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# --- The worker ------------------------------------------------------------------------------


class WorkerProcess:
    def __init__(self, workdir: Path, processes: int) -> None:
        self.log = workdir / "worker.log"
        self.log.unlink(missing_ok=True)
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config.celery_app",
                "worker",
                "-P",
                "prefork",
                "-c",
                str(processes),
                "-l",
                "WARNING",
                "-f",
                str(self.log),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=harness.ROOT,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


# --- The measures ----------------------------------------------------------------------------


def _record(city, count: int) -> list[str]:
    """``count`` events in one transaction (its commit queues the dispatch)."""
    from django.db import transaction

    from common import clock
    from events.models import Event, EventType
    from events.services import EventDraft, event_record_bulk

    drafts = [
        EventDraft(
            type=EventType.CARD_STATUS_CHANGED,
            object_type="card",
            object_id=index,
            data={"status": {"before": "READY", "after": "ACTIVE"}},
            city_id=city.pk,
        )
        for index in range(count)
    ]
    with transaction.atomic():
        before = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
        event_record_bulk(drafts, now=clock.now())
    return list(
        Event.objects.filter(id__gt=before).order_by("id").values_list("public_id", flat=True)
    )


def floor_rate(receiver: ReceiverProcess, count: int, body: str) -> float:
    """The same POSTs straight from this process: pooled connections, the worker's concurrency."""
    import urllib3
    from django.conf import settings

    concurrency = settings.WEBHOOK_SEND_CONCURRENCY
    pool = urllib3.HTTPConnectionPool("127.0.0.1", receiver.port, maxsize=concurrency)
    headers = {"content-type": "application/json"}

    def post(index: int) -> int:
        return pool.urlopen(
            "POST", "/hooks", body=body, headers=headers | {"webhook-id": f"floor_{index}"}
        ).status

    receiver.reset()
    with ThreadPoolExecutor(concurrency) as threads, harness.Timer() as timer:
        statuses = list(threads.map(post, range(count)))
    if set(statuses) != {204}:
        raise SystemExit(f"the floor's POSTs answered {set(statuses)}")
    return count / timer.seconds


def throughput(city, receiver: ReceiverProcess, count: int) -> tuple[float, int]:
    from webhooks.models import WebhookDelivery

    receiver.reset()
    started = time.time()
    _record(city, count)
    finished = receiver.wait_for(count, timeout=max(120, count / 50))
    # The attempts are recorded as each batch's transaction commits, just after its POSTs.
    deadline = time.monotonic() + 60
    while True:
        delivered = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SUCCEEDED).count()
        if delivered >= count + 1 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return count / (finished - started), delivered


def latency(city, receiver: ReceiverProcess, count: int) -> list[float]:
    receiver.reset()
    committed: dict[str, float] = {}
    interval = 1 / LATENCY_RATE
    next_at = time.monotonic()
    for _ in range(count):
        [public_id] = _record(city, 1)
        committed[public_id] = time.time()
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    receiver.wait_for(count, timeout=120)
    arrivals = receiver.arrivals()
    return sorted((arrivals[key] - committed[key]) * 1000 for key in committed)


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, round(share * (len(values) - 1)))]


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "receiver":
        serve_receiver(sys.argv[2])
        return
    os.environ["WEBHOOK_ALLOW_PRIVATE_DESTINATIONS"] = "true"
    args, report = harness.start(
        "webhooks",
        "Webhook delivery",
        "N events delivered by a real worker to a receiver on loopback, against the same POSTs "
        "sent straight; and the p99 from commit to arrival at 20 events a second.",
        FULL_SIZE,
        latency_events=200,
        worker_processes=2,
    )
    os.environ["WEBHOOK_ALLOW_PRIVATE_DESTINATIONS"] = "true"
    from django.utils import timezone

    from cities.tests.factories import CityFactory
    from events.models import Event
    from users.tests.factories import OperatorFactory
    from webhooks.services import endpoint_create, event_body

    workdir = harness.ROOT / "var" / "bench-webhooks"
    workdir.mkdir(parents=True, exist_ok=True)
    receiver = ReceiverProcess(workdir)
    worker = WorkerProcess(workdir, args.worker_processes)
    try:
        city = CityFactory()
        endpoint_create(
            owner=OperatorFactory(cities=[city]),
            url=receiver.url,
            event_types=["*"],
            now=timezone.now(),
        )
        with harness.step("warm-up: the worker starts and delivers one event"):
            _record(city, 1)
            receiver.wait_for(1, timeout=90)
        body = event_body(Event.objects.order_by("-id").first())
        with harness.step(f"floor: {args.size:,} POSTs straight to the receiver"):
            floor = floor_rate(receiver, args.size, body)
        with harness.step(f"throughput: {args.size:,} events in one transaction"):
            rate, delivered = throughput(city, receiver, args.size)
        with harness.step(f"latency: {args.latency_events} events at {LATENCY_RATE:.0f}/s"):
            latencies = latency(city, receiver, args.latency_events)
    finally:
        worker.stop()
        receiver.stop()
    if delivered != args.size + 1:  # the warm-up's and the throughput's
        report.note(f"WARNING: {delivered:,} deliveries SUCCEEDED, {args.size + 1:,} expected")
    full = args.size >= FULL_SIZE
    report.add(
        f"deliveries of {args.size:,} events",
        rate,
        "/s",
        floor=floor,
        target=f">= {RATE_TARGET:.0f}/s",
        met=(rate >= RATE_TARGET) if full else None,
        note="from the commit to the last arrival; each signed, sent and its attempt recorded; "
        f"worker: prefork, {args.worker_processes} pool processes; floor: the same POSTs sent "
        "straight",
    )
    report.add(
        f"commit to arrival p50 ({LATENCY_RATE:.0f} events/s)",
        percentile(latencies, 0.5),
        "ms",
        target="recorded",
    )
    report.add(
        f"commit to arrival p99 ({LATENCY_RATE:.0f} events/s)",
        percentile(latencies, 0.99),
        "ms",
        target="recorded",
        note=f"{len(latencies)} events, one per transaction; max {latencies[-1]:.0f} ms",
    )
    if not full:
        report.note(f"the rate target is judged at {FULL_SIZE:,} events or more")
    harness.finish(args, report)


if __name__ == "__main__":
    main()
