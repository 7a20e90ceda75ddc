"""Redis down or hung (the cache: login throttle, query limiter, simulated clock's copy): logins
still work and stay throttled, the online channel answers PLATFORM_BUSY, the live channels
answer as usual, health says degraded, and a hung Redis holds a request for one short timeout.

Redis is made unreachable for real, never stopped: the cache is pointed at a loopback port where
nothing listens, or where a socket accepts connections and never answers."""

import socket
import threading
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import override_settings

from persons.models import InsuredPerson
from tests.bootstrap import skip_unless_ci
from tests.support import client_for
from users.tests.factories import SuperuserFactory, TerminalFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"
RIGHT = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _redis_configured():
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        skip_unless_ci("the suite runs without Redis; nothing to take away")


@pytest.fixture
def closed_port():
    """A loopback port bound but not listening: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def hung_port():
    """A loopback port that accepts connections (the kernel completes the handshake) and never
    answers a byte: a hung Redis."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        yield sock.getsockname()[1]


class SwitchableRedis:
    """A loopback port in front of the suite's Redis, to take it away and bring it back: while
    up it relays each connection to Redis; while down it cuts every connection."""

    def __init__(self, target: str):
        parts = urlsplit(target)
        self.target = (parts.hostname, parts.port or 6379)
        self.database = parts.path.lstrip("/") or "0"
        self.up = True
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._relay, args=(source, sink), daemon=True).start()

    @staticmethod
    def _relay(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        for end in (source, sink):
            end.close()

    def take_down(self) -> None:
        self.up = False
        for end in self._open:
            end.close()
        self._open.clear()

    def close(self) -> None:
        self.take_down()
        self._stopped.set()
        self._listener.close()


@pytest.fixture
def switchable_redis():
    relay = SwitchableRedis(settings.CACHES["default"]["LOCATION"])
    yield relay
    relay.close()


@contextmanager
def redis_at(port: int, database: str = "0", **options):
    default = settings.CACHES["default"]
    location = f"redis://127.0.0.1:{port}/{database}"
    cache = {**default, "LOCATION": location, "OPTIONS": {**default["OPTIONS"], **options}}
    with override_settings(CACHES={"default": cache}, REDIS_URL=location):
        yield


def login(client, username: str, password: str = "wrong", **headers):
    return client.post(LOGIN, {"username": username, "password": password}, **headers)


def test_login_works_and_stays_throttled_while_redis_is_down(api_client, closed_port):
    UserFactory(username="erin")
    with redis_at(closed_port):
        assert login(api_client, "erin", RIGHT, REMOTE_ADDR="192.0.2.11").status_code == 200
        # The limits now hold in this process's memory: guessing is still bounded.
        statuses = [
            login(api_client, "erin", REMOTE_ADDR="192.0.2.12").status_code for _ in range(12)
        ]
    assert statuses == [400] * 10 + [429] * 2


@pytest.fixture
def visible_person(agreement):
    """A person whose balance every channel shows, with an operator and a terminal of the city."""
    operator = client_for(SuperuserFactory())
    created = operator.post("/api/v1/sandbox/scenarios/BALANCE_VISIBLE")
    assert created.status_code == 201, created.json()
    body = created.json()
    person = InsuredPerson.objects.get(pk=body["person"]["id"])
    terminal = client_for(TerminalFactory(institution__city=person.city))
    terminal.defaults["HTTP_X_PRESENTED_CREDENTIAL"] = f"CARD {body['card_number']}"
    insured = client_for(person.user)
    assert insured.get("/api/v1/me/balance").json()["visible"] is True
    return person, insured, operator, terminal


def test_online_answers_platform_busy_and_live_channels_answer_while_redis_is_down(
    visible_person, closed_port
):
    person, insured, operator, terminal = visible_person
    balance = f"/api/v1/persons/{person.pk}/balance"
    with redis_at(closed_port):
        online = insured.get("/api/v1/me/balance")
        counter = operator.get(balance)
        hotline = operator.get(balance, {"channel": "HOTLINE"})
        institution = terminal.get(balance)
    assert online.status_code == 200
    assert [reason["code"] for reason in online.json()["reasons"]] == ["PLATFORM_BUSY"]
    assert online.json()["visible"] is False
    assert int(online["Retry-After"]) == online.json()["reasons"][0]["retry_after"] > 0
    for answer, channel in (
        (counter, "COUNTER"),
        (hotline, "HOTLINE"),
        (institution, "INSTITUTION"),
    ):
        assert answer.status_code == 200, answer.json()
        assert answer.json()["channel"] == channel
        assert answer.json()["visible"] is True and answer.json()["reasons"] == []
    # Back with Redis, the online channel counts again.
    assert insured.get("/api/v1/me/balance").json()["visible"] is True


def test_health_says_degraded_but_serving_while_redis_is_down(api_client, closed_port):
    up = api_client.get("/api/v1/health")
    assert up.status_code == 200 and up.json()["status"] == "ok"
    assert up.json()["cache"]["ok"] is True and up.json()["cache"]["backend"] == "redis"
    with redis_at(closed_port):
        down = api_client.get("/api/v1/health")
    assert down.status_code == 200
    body = down.json()
    assert body["status"] == "degraded"
    assert body["cache"] == {"ok": False, "error": "CacheUnavailable"}
    assert body["database"]["ok"] is True and body["broker"]["ok"] is True


def _timed(call):
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def test_a_hung_redis_holds_a_login_for_one_short_timeout(api_client, hung_port, capsys):
    UserFactory(username="frank")
    with redis_at(hung_port):
        first, first_seconds = _timed(
            lambda: login(api_client, "frank", RIGHT, REMOTE_ADDR="192.0.2.21")
        )
        # While the process leaves the hung Redis alone, the next logins do not wait at all.
        later = [
            _timed(lambda: login(api_client, "frank", RIGHT, REMOTE_ADDR="192.0.2.21"))
            for _ in range(5)
        ]
    assert first.status_code == 200 and all(answer.status_code == 200 for answer, _ in later)
    timeout = settings.CACHES["default"]["OPTIONS"]["socket_timeout"]
    assert first_seconds < timeout + 0.5
    assert max(seconds for _, seconds in later) < 0.2
    with capsys.disabled():
        print(
            f"\nlogin with a hung Redis: first {first_seconds:.3f} s, then at most "
            f"{max(seconds for _, seconds in later):.3f} s"
        )


def test_a_hung_redis_holds_an_online_query_for_one_short_timeout(
    visible_person, hung_port, capsys
):
    _, insured, _, _ = visible_person
    with redis_at(hung_port):
        online, seconds = _timed(lambda: insured.get("/api/v1/me/balance"))
    assert [reason["code"] for reason in online.json()["reasons"]] == ["PLATFORM_BUSY"]
    assert seconds < settings.CACHES["default"]["OPTIONS"]["socket_timeout"] + 0.5
    with capsys.disabled():
        print(f"\nonline balance with a hung Redis: {seconds:.3f} s")


def test_back_to_redis_once_it_answers_again(visible_person, switchable_redis):
    _, insured, _, _ = visible_person

    def online_visible() -> bool:
        return insured.get("/api/v1/me/balance").json()["visible"]

    with redis_at(switchable_redis.port, switchable_redis.database, pause_seconds=0.5):
        assert online_visible() is True
        switchable_redis.take_down()
        assert online_visible() is False  # PLATFORM_BUSY: the query cannot be counted
        switchable_redis.up = True
        # Within the pause the process does not ask Redis yet...
        assert online_visible() is False
        # ...and asks again once the pause is over.
        time.sleep(0.6)
        assert online_visible() is True

        switchable_redis.take_down()
        assert online_visible() is False
        switchable_redis.up = True
        # The health check asks even during a pause, and an answer ends it.
        health = insured.get("/api/v1/health").json()
        assert health["status"] == "ok" and health["cache"]["ok"] is True
        assert online_visible() is True
