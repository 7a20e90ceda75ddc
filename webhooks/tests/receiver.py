"""A real HTTP receiver on loopback for the webhook tests: a threaded ``http.server`` that records
every request it is sent and answers as a test tells it to, request by request."""

import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# What the receiver does with a request.
OK = "ok"  # 204
ERROR = "error"  # 500 with a body
HANG = "hang"  # reads the request, then answers nothing until released (or the test ends)
CLOSE = "close"  # reads the request, then closes the connection without a word
BLOCK = "block"  # like HANG, but tells the test it has the request first


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int
    requests: list[Received] = field(default_factory=list)
    script: deque = field(default_factory=deque)
    default: str = OK
    release: threading.Event = field(default_factory=threading.Event)
    got_blocked_request: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, *behaviours: str, then: str = OK) -> None:
        """Answer the next requests as listed, and every later one as ``then``."""
        with self.lock:
            self.script.clear()
            self.script.extend(behaviours)
            self.default = then

    def next_behaviour(self) -> str:
        with self.lock:
            return self.script.popleft() if self.script else self.default

    def ids(self) -> list[str]:
        with self.lock:
            return [request.headers["webhook-id"] for request in self.requests]


def _handler_for(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def do_POST(self):
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            behaviour = receiver.next_behaviour()
            with receiver.lock:
                receiver.requests.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
            if behaviour in (HANG, BLOCK):
                if behaviour == BLOCK:
                    receiver.got_blocked_request.set()
                receiver.release.wait(timeout=120)
                self.close_connection = True
                return
            if behaviour == CLOSE:
                self.close_connection = True
                return
            status, text = (500, b"Internal Server Error") if behaviour == ERROR else (204, b"")
            self.send_response(status)
            self.send_header("content-length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def start_receiver() -> tuple[Receiver, _Server]:
    receiver = Receiver(port=0)
    server = _Server(("127.0.0.1", 0), _handler_for(receiver))
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return receiver, server
