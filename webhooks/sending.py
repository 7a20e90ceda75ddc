"""One HTTP POST of a signed delivery, bounded in time, to the address that was checked.

Connections are pooled per worker process and destination (kept alive between deliveries). The
host is resolved and checked before every attempt (``webhooks.destinations``) and the connection
goes to that checked address, with the URL's host in ``Host`` and, for https, in SNI and the
certificate check. No redirect is followed and urllib3 never retries by itself: every try is an
attempt on record."""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import urllib3
from django.conf import settings
from django.utils import timezone

from common.errors import DomainError
from webhooks.destinations import Destination, addresses_resolve, destination_parse
from webhooks.signing import signed_headers

EXCERPT_CHARS = 1000
USER_AGENT = "Yibao-Webhooks/1"


@dataclass(frozen=True)
class Outgoing:
    delivery_id: int
    url: str
    webhook_id: str
    body: str
    secrets: list[str]


@dataclass(frozen=True)
class AttemptResult:
    delivery_id: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    response_excerpt: str
    error: str


# Per process: a worker's pool processes fork from its main one and must not share sockets.
_pools: dict[tuple, urllib3.HTTPConnectionPool] = {}
_pools_lock = threading.Lock()
_pools_pid = os.getpid()
_executor: ThreadPoolExecutor | None = None


def _forget_after_fork() -> None:
    global _pools_pid, _executor
    if _pools_pid != os.getpid():
        _pools.clear()
        _executor = None
        _pools_pid = os.getpid()


def _pool(scheme: str, address: str, port: int, host: str) -> urllib3.HTTPConnectionPool:
    key = (scheme, address, port, host)
    with _pools_lock:
        _forget_after_fork()
        pool = _pools.get(key)
        if pool is None:
            common = {
                "host": address,
                "port": port,
                "maxsize": settings.WEBHOOK_SEND_CONCURRENCY,
                "block": False,
                "retries": False,
            }
            if scheme == "https":
                pool = urllib3.HTTPSConnectionPool(
                    **common,
                    server_hostname=host,
                    assert_hostname=host,
                    cert_reqs="CERT_REQUIRED",
                )
            else:
                pool = urllib3.HTTPConnectionPool(**common)
            _pools[key] = pool
        return pool


def _host_header(host: str, port: int, scheme: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return shown if port == default else f"{shown}:{port}"


def destination_check(url: str) -> tuple[Destination, str] | DomainError:
    """The destination and the checked address to connect to, or why not (resolved now)."""
    try:
        destination = destination_parse(url)
        return destination, addresses_resolve(destination)[0]
    except DomainError as refusal:
        return refusal


def send(
    outgoing: Outgoing, checked: tuple[Destination, str] | DomainError | None = None
) -> AttemptResult:
    """One attempt: sign now, POST to the checked address, read at most an excerpt of the
    answer. Never raises."""
    started_at = timezone.now()
    started = time.monotonic()
    status_code, excerpt, error = None, "", ""
    try:
        checked = destination_check(outgoing.url) if checked is None else checked
        if isinstance(checked, DomainError):
            raise checked
        destination, address = checked
        headers = signed_headers(
            webhook_id=outgoing.webhook_id,
            sent_at=timezone.now(),
            body=outgoing.body,
            secrets=outgoing.secrets,
        )
        headers["host"] = _host_header(destination.host, destination.port, destination.scheme)
        headers["user-agent"] = USER_AGENT
        pool = _pool(destination.scheme, address, destination.port, destination.host)
        response = pool.urlopen(
            "POST",
            destination.path,
            body=outgoing.body.encode(),
            headers=headers,
            redirect=False,
            retries=False,
            timeout=urllib3.Timeout(
                connect=settings.WEBHOOK_CONNECT_TIMEOUT, read=settings.WEBHOOK_READ_TIMEOUT
            ),
            preload_content=False,
            assert_same_host=False,
        )
        try:
            status_code = response.status
            chunk = response.read(EXCERPT_CHARS * 4 + 1)
            excerpt = chunk[: EXCERPT_CHARS * 4].decode("utf-8", "replace")[:EXCERPT_CHARS]
            if len(chunk) > EXCERPT_CHARS * 4:
                # More than the excerpt: drop the connection rather than read it all.
                response.close()
        finally:
            response.release_conn()
    except DomainError as refusal:
        error = f"{refusal.code.code}: {refusal.detail}"
    except urllib3.exceptions.ConnectTimeoutError:
        error = "connect timeout"
    except urllib3.exceptions.ReadTimeoutError:
        error = "read timeout: no answer in time"
    except urllib3.exceptions.ProtocolError as failure:
        error = f"connection failed: {_reason(failure)}"
    except urllib3.exceptions.HTTPError as failure:
        error = f"HTTP error: {_reason(failure)}"
    except OSError as failure:
        error = f"network error: {failure}"
    return AttemptResult(
        delivery_id=outgoing.delivery_id,
        started_at=started_at,
        duration_ms=int((time.monotonic() - started) * 1000),
        status_code=status_code,
        response_excerpt=excerpt,
        error=error[:300],
    )


def _reason(failure: Exception) -> str:
    inner = failure.args[1] if len(failure.args) > 1 else failure
    return str(getattr(failure, "reason", None) or inner)


def _pool_executor() -> ThreadPoolExecutor:
    """Threads for sending at once, made in the process that uses them (after a worker forks)."""
    global _executor
    with _pools_lock:
        _forget_after_fork()
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=settings.WEBHOOK_SEND_CONCURRENCY, thread_name_prefix="webhook"
            )
        return _executor


def send_all(outgoing: list[Outgoing]) -> list[AttemptResult]:
    """Send a batch at once (``WEBHOOK_SEND_CONCURRENCY`` at a time); each URL is resolved and
    checked once for the batch, just before its requests."""
    checked = {url: destination_check(url) for url in {item.url for item in outgoing}}
    if len(outgoing) == 1:
        return [send(outgoing[0], checked[outgoing[0].url])]
    return list(_pool_executor().map(lambda item: send(item, checked[item.url]), outgoing))
