"""The balance benchmark's open-loop generator (bench/loadgen.py), against small loopback servers.

The server that matters stalls: every 100th request sleeps 200 ms inside its only event loop, so
the whole server stops, as in a pause. Arriving at a constant rate, the requests due during a
stall all wait, and the open-loop p99 shows it; a closed-loop client stops sending while it waits
for the stalled answer, records one slow request in a hundred, and its p99 hides the stall.
"""

import asyncio
import socket
import threading
import time

import pytest

from bench.loadgen import open_loop, paced, percentile

STALL_EVERY = 100
STALL_SECONDS = 0.2
RATE = 200.0


class LoopbackServer:
    """An HTTP/1.1 server on 127.0.0.1, one thread and one event loop. ``stall_every``: every so
    many requests it sleeps ``STALL_SECONDS`` in the loop itself. ``style``: ``keep-alive``
    (Content-Length), ``close`` (one request per connection, as gunicorn's sync workers) or
    ``chunked``. Without an Authorization header it answers 401."""

    def __init__(self, *, stall_every: int = 0, style: str = "keep-alive") -> None:
        self.stall_every = stall_every
        self.style = style
        self.requests = 0
        self.loop = asyncio.new_event_loop()
        self.handlers: dict[asyncio.Task, asyncio.StreamWriter] = {}
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0)
        )
        self.port = self.server.sockets[0].getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> "LoopbackServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()

    async def _shutdown(self) -> None:
        self.server.close()
        for writer in self.handlers.values():
            writer.close()  # the handler's next read ends, and with it the handler
        await asyncio.gather(*self.handlers, return_exceptions=True)

    async def _handle(self, reader, writer) -> None:
        self.handlers[asyncio.current_task()] = writer
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                if self.stall_every and self.requests % self.stall_every == 0:
                    time.sleep(STALL_SECONDS)  # in the loop: the whole server stops
                status = "200 OK" if b"\r\nauthorization:" in head.lower() else "401 Unauthorized"
                if self.style == "chunked":
                    writer.write(
                        f"HTTP/1.1 {status}\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "2\r\nok\r\n0\r\n\r\n".encode()
                    )
                elif self.style == "close":
                    writer.write(
                        f"HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".encode()
                    )
                    await writer.drain()
                    return
                else:
                    writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 2\r\n\r\nok".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self.handlers.pop(asyncio.current_task(), None)


def closed_loop_latencies(port: int, *, rate: float, count: int) -> list[float]:
    """The closed-loop model (wrk's paced runs): one connection sends its next request only after
    the previous answer, on a schedule that starts again from now when it is late; each latency
    counts from the actual send."""
    latencies = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        next_at = time.monotonic()
        for _ in range(count):
            now = time.monotonic()
            if next_at > now:
                time.sleep(next_at - now)
            else:
                next_at = now
            next_at += 1 / rate
            sent = time.monotonic()
            connection.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: x\r\n\r\n")
            answer = b""
            while not answer.endswith(b"\r\n\r\nok"):
                answer += connection.recv(4096)
            latencies.append(time.monotonic() - sent)
    return latencies


def test_a_closed_loop_p99_hides_the_stalls():
    with LoopbackServer(stall_every=STALL_EVERY) as server:
        closed = closed_loop_latencies(server.port, rate=RATE, count=3 * STALL_EVERY)
    assert max(closed) >= STALL_SECONDS  # it met the stalls...
    assert percentile(closed, 99) * 1000 < 50  # ...and its p99 hides them


# With one connection the generator itself waits out each stall, as a closed loop does: the
# requests that fell due meanwhile are still sent, and still count from their scheduled times.
@pytest.mark.parametrize("connections", [1, 32])
def test_open_loop_p99_shows_the_stalls(connections):
    with LoopbackServer(stall_every=STALL_EVERY) as server:
        result = open_loop(
            server.url,
            rate=RATE,
            seconds=2.5,
            headers={"Authorization": "x"},
            connections=connections,
        )
    assert result.scheduled == result.answered == 500
    assert result.errors == 0
    assert result.max_ms >= STALL_SECONDS * 1000 * 0.95
    assert result.p99_ms >= 150, result


@pytest.mark.parametrize("style", ["keep-alive", "close", "chunked"])
def test_open_loop_keeps_the_arrival_rate_on_a_server_that_does_not_stall(style):
    with LoopbackServer(style=style) as server:
        result = open_loop(
            server.url, rate=400, seconds=1.0, headers={"Authorization": "x"}, connections=8
        )
        served = server.requests
    assert result.scheduled == result.answered == served == 400
    assert result.errors == 0
    assert 360 <= result.rps <= 440, result
    assert result.p99_ms < 50, result


def test_open_loop_counts_answers_outside_2xx_as_errors():
    with LoopbackServer() as server:
        result = open_loop(server.url, rate=200, seconds=0.5, headers={}, connections=4)
    assert result.answered == 100
    assert result.errors == 100


def test_open_loop_counts_a_refused_connection_as_an_error():
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        closed_port = placeholder.getsockname()[1]
    result = open_loop(f"http://127.0.0.1:{closed_port}/", rate=100, seconds=0.2, connections=2)
    assert result.answered == 0
    assert result.errors == 20


def test_paced_runs_the_generator_in_a_process_of_its_own_with_the_credential():
    with LoopbackServer() as server:
        result = paced(server.url, authorization="Token x", rate=200, seconds=0.5, connections=4)
    assert result.answered == 100
    assert result.errors == 0
