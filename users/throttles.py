"""Login throttling: three counters, atomic across processes (Redis INCR), each counting in a
window that opens at its key's first hit and closes a period later.

1. Attempts per client address (``LOGIN_THROTTLE_RATE``, 10/min): every attempt, right or wrong,
   so one address can neither guess fast nor spray one password over many usernames.
2. Failed attempts per username and address (``LOGIN_FAILURES_PER_ADDRESS`` per
   ``LOGIN_FAILURE_WINDOW_MINUTES``): once reached, that address may not try that username again
   until its window closes, not even with the right password (else the answer would still tell
   right from wrong).
3. Failed attempts per username from every address (``LOGIN_FAILURES_PER_USERNAME``): a ceiling
   on guessing one password from many addresses. It is more than twice (2): one address adds at
   most (2) per window of its own, at most two of which meet one window of the username, so one
   address cannot lock a user out. Reaching it takes several addresses; the user is then locked
   out until the window closes, the price of bounding distributed guessing.

A failure is counted before the password is checked and given back when the password proves
right, so parallel attempts cannot all pass a check and count afterwards; a right password
never counts against (2) or (3).

The client address is the peer (``REMOTE_ADDR``) unless ``NUM_PROXIES`` trusted proxies stand in
front, each appending to ``X-Forwarded-For``: then it is the address the outermost proxy saw.
What a client writes in that header itself is never trusted.

While the cache is unreachable each process counts in its own memory: logins keep working and
guessing stays bounded (the limits hold per process instead of per installation) rather than
failing open.

The same counters limit offline e-voucher activations per pharmacy terminal
(``PHARMACY_ACTIVATION_RATE``, 30/hour): a success tells the pharmacy that the ID it read belongs
to an insured person, so no terminal may run through IDs.
"""

import hashlib
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.exceptions import Throttled
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from common.cache import CacheUnavailable, WindowCount, window_hit, window_refund

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# The counters of this process, used only while the shared cache is unreachable.
_local_counters = LocMemCache("login-throttle", {"OPTIONS": {"MAX_ENTRIES": 50_000}})


def parse_rate(rate: str) -> tuple[int, int]:
    """``"10/min"`` -> (10, 60): DRF's rate notation."""
    number, period = rate.split("/")
    return int(number), _PERIODS[period.strip()[0]]


def client_address(request) -> str:
    """The address a login is counted against (see the module's docstring). An IPv6 client is
    counted by its /64, the block one subscriber gets, so it cannot rotate addresses within it."""
    address = request.META.get("REMOTE_ADDR", "")
    proxies = api_settings.NUM_PROXIES or 0
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        # Fewer entries than proxies: the request did not come through them; only the peer is
        # known for certain.
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _ident(*parts: str) -> str:
    # Hashed: addresses and usernames are arbitrary text; a cache key should be short and plain.
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _hit(key: str, seconds: int) -> WindowCount:
    try:
        return window_hit(key, seconds=seconds)
    except CacheUnavailable:
        return window_hit(key, seconds=seconds, backend=_local_counters)


def _refund(key: str) -> None:
    try:
        window_refund(key)
    except CacheUnavailable:
        window_refund(key, backend=_local_counters)


class LoginAddressThrottle(BaseThrottle):
    """Limit 1: every login attempt, per client address."""

    def allow_request(self, request, view) -> bool:
        limit, period = parse_rate(api_settings.DEFAULT_THROTTLE_RATES["login"])
        window = _hit(f"login:address:{_ident(client_address(request))}", period)
        self.wait_seconds = window.seconds_left
        return window.count <= limit

    def wait(self) -> int:
        return self.wait_seconds


class PharmacyActivationThrottle(BaseThrottle):
    """Every offline e-voucher activation, right or wrong, per terminal."""

    def allow_request(self, request, view) -> bool:
        limit, period = parse_rate(api_settings.DEFAULT_THROTTLE_RATES["pharmacy_activation"])
        window = _hit(f"pharmacy-activation:terminal:{request.user.pk}", period)
        self.wait_seconds = window.seconds_left
        return window.count <= limit

    def wait(self) -> int:
        return self.wait_seconds


@contextmanager
def login_failures_limited(*, username: str, address: str) -> Iterator[None]:
    """Limits 2 and 3 around one password check: raises Throttled before the check when either is
    reached; the attempt counts as a failure unless the block completes."""
    period = settings.LOGIN_FAILURE_WINDOW_MINUTES * 60
    name = username.strip().lower()
    pair_key = f"login:failures-from:{_ident(name, address)}"
    pair = _hit(pair_key, period)
    if pair.count > settings.LOGIN_FAILURES_PER_ADDRESS:
        raise Throttled(wait=pair.seconds_left)
    user_key = f"login:failures:{_ident(name)}"
    user = _hit(user_key, period)
    if user.count > settings.LOGIN_FAILURES_PER_USERNAME:
        _refund(pair_key)  # not checked, so not a failure of this address
        raise Throttled(wait=user.seconds_left)
    yield
    _refund(pair_key)
    _refund(user_key)
