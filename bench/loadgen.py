"""Serving the application with gunicorn and loading it, in processes of their own: with wrk for
the peak rate (closed-loop), with the open-loop generator below for latency at a given rate."""

import asyncio
import gc
import json
import math
import os
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench import harness

_SUMMARY = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\"requests\": %d, \"duration_us\": %d, \"connect\": %d, \"read\": %d, " ..
    "\"write\": %d, \"status\": %d, \"timeout\": %d, \"p50_us\": %d, \"p90_us\": %d, " ..
    "\"p99_us\": %d, \"max_us\": %d, \"mean_us\": %f}\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
"""


@dataclass
class LoadResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn serving the project with sync workers, in its own process group."""

    def __init__(self, workers: int, env: dict[str, str]) -> None:
        self.workers = workers
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="bench-gunicorn-", suffix=".log", delete=False
        )
        command = [
            str(Path(harness.PYTHON).with_name("gunicorn")),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ]
        self.process = subprocess.Popen(  # noqa: S603
            command,
            cwd=harness.ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, path: str, authorization: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        request = urllib.request.Request(  # noqa: S310
            self.base_url + path, headers={"Authorization": authorization}
        )
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited early; see {self.log.name}")
            try:
                with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer within {timeout:.0f} s; see {self.log.name}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        if exc[0] is None:
            Path(self.log.name).unlink(missing_ok=True)


def wrk_path() -> str:
    found = harness.which_or_install("wrk", "wrk")
    if not found:
        raise SystemExit(
            "wrk is needed for the balance benchmark: install it (Debian: apt-get install wrk), "
            "or run the benchmark as root, which installs it."
        )
    return found


def wrk(
    url: str,
    *,
    authorization: str,
    seconds: float,
    connections: int,
    threads: int = 1,
) -> LoadResult:
    """One wrk run: closed-loop, as fast as the server answers (its peak rate)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(_SUMMARY)
    try:
        done = subprocess.run(  # noqa: S603
            [
                wrk_path(),
                f"-t{threads}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                handle.name,
                "-H",
                f"Authorization: {authorization}",
                url,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=seconds + 60,
        )
    finally:
        os.unlink(handle.name)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    data = json.loads(line[len("WRKJSON ") :])
    errors = sum(data[key] for key in ("connect", "read", "write", "status", "timeout"))
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=errors,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        mean_ms=data["mean_us"] / 1000,
    )


# --- The open-loop generator ------------------------------------------------------------------
#
# wrk is closed-loop: a connection sends its next request only after the previous answer, so while
# the server stalls it sends nothing and records one slow request where real clients, arriving at
# their own pace, would have waited many times over (coordinated omission). wrk2, which fixes that,
# is not packaged in Debian. The generator below follows wrk2's model: request i is due at
# t0 + i / rate whatever happened before it, and its latency counts from that scheduled time, so a
# request that waited for a free connection, a connection or the server is charged for the wait.


@dataclass
class OpenLoopResult:
    """One open-loop run. Latencies count from each request's scheduled time; ``service_*`` count
    from the moment it was actually sent, which is what a closed-loop tool reports; ``send_lag_*``
    is how late the generator sent requests (its own delay, or every connection busy)."""

    rate: float
    scheduled: int
    answered: int
    errors: int
    seconds: float
    connections: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    service_p50_ms: float
    service_p99_ms: float
    service_max_ms: float
    send_lag_p99_ms: float
    send_lag_max_ms: float
    cpu_seconds: float

    @property
    def rps(self) -> float:
        """The rate achieved: answers per second from the first scheduled send to the last answer."""
        return self.answered / self.seconds if self.seconds else 0.0


def percentile(values: list[float], percent: float) -> float:
    """Nearest rank: the smallest value that at least ``percent`` of ``values`` do not exceed."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


class _HttpConnection(asyncio.Protocol):
    """One HTTP/1.1 connection sending one request at a time and reading its whole response
    (Content-Length, chunked, or up to the server's close)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.answer: asyncio.Future | None = None
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._complete_if_whole(eof=False)

    def eof_received(self) -> bool:
        self.closed = True
        self._complete_if_whole(eof=True)
        return False

    def connection_lost(self, exc) -> None:
        self.closed = True
        self._complete_if_whole(eof=True)
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ConnectionError("the server closed the connection"))

    def send(self, request: bytes) -> asyncio.Future:
        self.buffer.clear()
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.answer

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _complete_if_whole(self, *, eof: bool) -> None:
        if self.answer is None or self.answer.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if eof:
                self.answer.set_exception(ConnectionError("the server closed before answering"))
            return
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        body = self.buffer[end + 4 :]
        if "content-length" in headers:
            whole = len(body) >= int(headers["content-length"])
        elif headers.get("transfer-encoding") == "chunked":
            whole = _chunked_body_complete(body)
        else:
            whole = eof
        if whole:
            keep_alive = headers.get("connection") != "close" and not eof
            self.answer.set_result((status, keep_alive))


def _chunked_body_complete(body: bytes) -> bool:
    position = 0
    while True:
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            return False
        size = int(body[position:line_end].split(b";")[0], 16)
        if size == 0:  # the last chunk, then optional trailers, then an empty line
            return body.find(b"\r\n\r\n", line_end) >= 0
        position = line_end + 2 + size + 2
        if position > len(body):
            return False


async def _open_loop(
    url: str,
    *,
    headers: dict[str, str],
    rate: float,
    seconds: float,
    connections: int,
    timeout: float,
) -> OpenLoopResult:
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        + "\r\n"
    ).encode("latin-1")
    loop = asyncio.get_running_loop()
    total = max(1, round(rate * seconds))
    interval = 1.0 / rate
    latencies: list[float] = []
    services: list[float] = []
    lags: list[float] = []
    counters = {"next": 0, "errors": 0, "last_answer": 0.0}
    cpu_started = time.process_time()
    start = loop.time() + 0.05  # every connection is waiting for its first turn by then

    async def connection_worker() -> None:
        connection: _HttpConnection | None = None
        while counters["next"] < total:
            index = counters["next"]
            counters["next"] += 1
            due = start + index * interval
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            sent = loop.time()
            try:
                if connection is None or connection.closed:
                    _, connection = await asyncio.wait_for(
                        loop.create_connection(_HttpConnection, host, port), timeout
                    )
                status, keep_alive = await asyncio.wait_for(connection.send(request), timeout)
            except (OSError, TimeoutError, ValueError):  # ValueError: not an HTTP answer
                counters["errors"] += 1
                if connection is not None:
                    connection.close()
                connection = None
                continue
            answered = loop.time()
            counters["last_answer"] = max(counters["last_answer"], answered)
            latencies.append(answered - due)
            services.append(answered - sent)
            lags.append(sent - due)
            if not 200 <= status < 300:
                counters["errors"] += 1
            if not keep_alive:
                connection.close()
                connection = None
        if connection is not None:
            connection.close()

    await asyncio.gather(*(connection_worker() for _ in range(connections)))
    ms = 1000.0
    return OpenLoopResult(
        rate=rate,
        scheduled=total,
        answered=len(latencies),
        errors=counters["errors"],
        seconds=max(0.0, counters["last_answer"] - start),
        connections=connections,
        p50_ms=percentile(latencies, 50) * ms,
        p90_ms=percentile(latencies, 90) * ms,
        p99_ms=percentile(latencies, 99) * ms,
        max_ms=max(latencies, default=0.0) * ms,
        mean_ms=(statistics.fmean(latencies) if latencies else 0.0) * ms,
        service_p50_ms=percentile(services, 50) * ms,
        service_p99_ms=percentile(services, 99) * ms,
        service_max_ms=max(services, default=0.0) * ms,
        send_lag_p99_ms=percentile(lags, 99) * ms,
        send_lag_max_ms=max(lags, default=0.0) * ms,
        cpu_seconds=time.process_time() - cpu_started,
    )


def open_loop(
    url: str,
    *,
    rate: float,
    seconds: float,
    connections: int = 32,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> OpenLoopResult:
    """Load ``url`` with GET requests at a constant arrival rate (requests per second) for
    ``seconds``, on up to ``connections`` connections at once, in this process."""
    gc.collect()
    gc.freeze()  # the few objects of a run need no collection pauses in the middle of it
    try:
        # select() sleeps to the microsecond where epoll rounds up to the next millisecond,
        # which would send each request up to a millisecond late; a run's few connections
        # suit select().
        with asyncio.Runner(loop_factory=_select_event_loop) as runner:
            return runner.run(
                _open_loop(
                    url,
                    headers=headers or {},
                    rate=rate,
                    seconds=seconds,
                    connections=connections,
                    timeout=timeout,
                )
            )
    finally:
        gc.unfreeze()


def _select_event_loop() -> asyncio.AbstractEventLoop:
    return asyncio.SelectorEventLoop(selectors.SelectSelector())


def paced(
    url: str, *, authorization: str, rate: float, seconds: float, connections: int = 32
) -> OpenLoopResult:
    """An open-loop run in a process of its own (away from the benchmark's Django and its
    garbage), the credential passed on stdin rather than on a command line."""
    settings = {
        "url": url,
        "rate": rate,
        "seconds": seconds,
        "connections": connections,
        "headers": {"Authorization": authorization},
    }
    done = subprocess.run(  # noqa: S603
        [harness.PYTHON, "-m", "bench.loadgen"],
        cwd=harness.ROOT,
        input=json.dumps(settings),
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds + 60,
    )
    if done.returncode != 0:
        raise SystemExit(f"the open-loop generator failed ({done.returncode}):\n{done.stderr}")
    return OpenLoopResult(**json.loads(done.stdout))


def _main() -> None:
    settings = json.load(sys.stdin)
    result = open_loop(
        settings["url"],
        rate=settings["rate"],
        seconds=settings["seconds"],
        connections=settings["connections"],
        headers=settings["headers"],
    )
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    _main()
