"""Login throttling: the client address cannot be forged through X-Forwarded-For, parallel attempts
cannot slip past a limit, and one address cannot lock a user out from another."""

import http.client
import json
import threading
from collections import Counter
from urllib.parse import urlsplit

import pytest

from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"
RIGHT = "correct-horse-battery"


def login(client, username: str, password: str = "wrong", **headers) -> int:
    response = client.post(LOGIN, {"username": username, "password": password}, **headers)
    if response.status_code == 429:
        assert response.json()["code"] == "RATE_LIMITED" and int(response["Retry-After"]) > 0
    return response.status_code


def address_limit(settings) -> int:
    return int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])


def raise_address_limit(settings) -> None:
    """So that only the failure limits are in play."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"login": "1000/min"},
    }


def test_a_new_x_forwarded_for_on_each_attempt_does_not_reset_the_address_limit(
    api_client, settings
):
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    limit = address_limit(settings)
    statuses = [
        login(api_client, f"nobody-{n}", HTTP_X_FORWARDED_FOR=f"10.{n}.0.1")
        for n in range(limit + 2)
    ]
    assert statuses == [400] * limit + [429] * 2


def test_behind_one_proxy_the_address_it_saw_counts_not_what_the_client_wrote(api_client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    limit = address_limit(settings)
    # The proxy appends the address it saw; whatever stands before it is the client's own.
    statuses = [
        login(api_client, f"nobody-{n}", HTTP_X_FORWARDED_FOR=f"10.{n}.0.1, 203.0.113.7")
        for n in range(limit + 1)
    ]
    assert statuses == [400] * limit + [429]
    assert login(api_client, "someone", HTTP_X_FORWARDED_FOR="10.0.0.1, 203.0.113.8") == 400
    # A request that did not pass the proxy is counted by its peer address.
    assert login(api_client, "someone") == 400


def test_an_ipv6_client_is_counted_by_its_64_block(api_client, settings):
    limit = address_limit(settings)
    statuses = [
        login(api_client, f"nobody-{n}", REMOTE_ADDR=f"2001:db8:0:1::{n + 1:x}")
        for n in range(limit + 1)
    ]
    assert statuses == [400] * limit + [429]
    assert login(api_client, "someone", REMOTE_ADDR="2001:db8:0:2::1") == 400


def _parallel_logins(live_server, bodies: list[dict]) -> Counter:
    """POST each body to the login endpoint at once, from threads, over real sockets."""
    target = urlsplit(live_server.url)
    start = threading.Barrier(len(bodies))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def attempt(body: dict) -> None:
        try:
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            connection.connect()  # connected first: the server's accept queue is short
            start.wait()
            connection.request(
                "POST", LOGIN, json.dumps(body), {"Content-Type": "application/json"}
            )
            statuses.append(connection.getresponse().status)
            connection.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return Counter(statuses)


@pytest.mark.django_db(transaction=True)
def test_24_parallel_attempts_from_one_address_pass_exactly_the_limit(live_server, settings):
    limit = address_limit(settings)
    bodies = [{"username": f"nobody-{n}", "password": "wrong"} for n in range(24)]
    assert _parallel_logins(live_server, bodies) == {400: limit, 429: 24 - limit}


@pytest.mark.django_db(transaction=True)
def test_24_parallel_wrong_passwords_for_one_user_pass_exactly_the_failure_limit(
    live_server, settings
):
    raise_address_limit(settings)
    settings.LOGIN_FAILURES_PER_ADDRESS = 5
    UserFactory(username="target")
    bodies = [{"username": "target", "password": f"guess-{n}"} for n in range(24)]
    assert _parallel_logins(live_server, bodies) == {400: 5, 429: 19}


def test_one_address_cannot_lock_a_user_out_from_another(api_client, settings):
    UserFactory(username="alice")
    attacker = {"REMOTE_ADDR": "198.51.100.66"}
    limit = settings.LOGIN_FAILURES_PER_ADDRESS
    statuses = [login(api_client, "alice", **attacker) for _ in range(limit + 2)]
    assert statuses == [400] * limit + [429] * 2
    # The attacker's address is stopped, even with the right password...
    assert login(api_client, "alice", RIGHT, **attacker) == 429
    # ...while alice, from her own address, logs in.
    assert login(api_client, "alice", RIGHT, REMOTE_ADDR="203.0.113.20") == 200


def test_failures_from_many_addresses_reach_the_username_ceiling(api_client, settings):
    raise_address_limit(settings)
    settings.LOGIN_FAILURES_PER_ADDRESS = 2
    settings.LOGIN_FAILURES_PER_USERNAME = 5
    UserFactory(username="bob")
    UserFactory(username="carol")
    statuses = [
        login(api_client, "bob", REMOTE_ADDR=f"198.51.100.{address}")
        for address in (1, 1, 2, 2, 3, 3)
    ]
    assert statuses == [400] * 5 + [429]
    # The price of bounding guessing from many addresses: bob waits out the window too...
    assert login(api_client, "bob", RIGHT, REMOTE_ADDR="203.0.113.30") == 429
    # ...but no other username is affected.
    assert login(api_client, "carol", RIGHT, REMOTE_ADDR="198.51.100.3") == 200


def test_a_right_password_is_not_counted_as_a_failure(api_client, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 2
    UserFactory(username="dave")
    assert [login(api_client, "dave", RIGHT) for _ in range(4)] == [200] * 4
    assert [login(api_client, "dave") for _ in range(3)] == [400, 400, 429]
