"""Redis down or hung (the cache: login throttle, query limiter, simulated clock's copy): logins
still work and stay throttled, the online channel answers PLATFORM_BUSY, the live channels
answer as usual, health says degraded, and a hung Redis holds a request for one short timeout.

Redis is made unreachable for real, never stopped: the cache is pointed at a loopback port where
nothing listens, or where a socket accepts connections and never answers."""

import socket
import time
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.test import override_settings

from persons.models import InsuredPerson
from tests.support import client_for
from users.tests.factories import SuperuserFactory, TerminalFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"
RIGHT = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _redis_configured():
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        pytest.skip("the suite runs without Redis; nothing to take away")


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


@contextmanager
def redis_at(port: int):
    default = settings.CACHES["default"]
    location = f"redis://127.0.0.1:{port}/0"
    with override_settings(
        CACHES={"default": {**default, "LOCATION": location}}, REDIS_URL=location
    ):
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
