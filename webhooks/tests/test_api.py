"""The webhook-endpoint API: the secret shown once, each caller's own endpoints only, and bad
input answered with a stable code."""

import pytest

from cities.tests.factories import CityFactory
from events.models import EventType
from tests.support import client_for
from users.tests.factories import OperatorFactory, TerminalFactory, UserFactory
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/hooks"


@pytest.fixture
def operator():
    return OperatorFactory(cities=[CityFactory()])


def register(client, **fields):
    body = {"url": URL, "event_types": [EventType.CARD_STATUS_CHANGED.value]} | fields
    return client.post("/api/v1/webhook-endpoints", body, format="json")


def test_the_secret_is_shown_once_on_registration_and_never_again(operator):
    client = client_for(operator)
    created = register(client)
    assert created.status_code == 201, created.json()
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    endpoint_id = created.json()["id"]
    assert WebhookEndpoint.objects.get(pk=endpoint_id).secret == secret  # kept, to sign with
    for page in (
        client.get("/api/v1/webhook-endpoints").content,
        client.get(f"/api/v1/webhook-endpoints/{endpoint_id}").content,
        client.patch(
            f"/api/v1/webhook-endpoints/{endpoint_id}", {"description": "x"}, format="json"
        ).content,
        client.get(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries").content,
    ):
        assert secret.encode() not in page and b"whsec_" not in page


def test_rotation_answers_a_new_secret_once_and_keeps_the_old_one_for_a_window(operator):
    client = client_for(operator)
    created = register(client).json()
    rotated = client.post(f"/api/v1/webhook-endpoints/{created['id']}/rotate-secret")
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new != created["secret"] and rotated.json()["previous_secret_valid_until"]
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert (endpoint.secret, endpoint.previous_secret) == (new, created["secret"])
    # A rotation retried inside the window keeps the secret receivers held before it.
    again = client.post(f"/api/v1/webhook-endpoints/{created['id']}/rotate-secret").json()
    endpoint.refresh_from_db()
    assert (endpoint.secret, endpoint.previous_secret) == (again["secret"], created["secret"])
    listed = client.get(f"/api/v1/webhook-endpoints/{created['id']}").content
    assert again["secret"].encode() not in listed


def test_another_callers_endpoint_is_not_found_for_every_operation(operator):
    owner_client = client_for(operator)
    endpoint_id = register(owner_client).json()["id"]
    stranger = client_for(OperatorFactory(cities=operator.cities.all()))
    base = f"/api/v1/webhook-endpoints/{endpoint_id}"
    answers = [
        stranger.get(base),
        stranger.patch(base, {"url": "http://127.0.0.1:1/x"}, format="json"),
        stranger.delete(base),
        stranger.post(f"{base}/rotate-secret"),
        stranger.get(f"{base}/deliveries"),
    ]
    assert [answer.status_code for answer in answers] == [404] * 5
    assert stranger.get("/api/v1/webhook-endpoints").json()["count"] == 0
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    assert endpoint.url == URL  # untouched


def test_terminals_register_and_insured_persons_may_not():
    assert register(client_for(TerminalFactory())).status_code == 201
    refused = register(client_for(UserFactory()))
    assert refused.status_code == 403
    assert refused.json()["code"] == "WEBHOOK_OWNER_NOT_ALLOWED"
    assert not WebhookEndpoint.objects.filter(owner__role="INSURED").exists()


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"url": "ftp://127.0.0.1/x"}, 400, "WEBHOOK_URL_INVALID"),
        ({"url": "http://user:pw@127.0.0.1/x"}, 400, "WEBHOOK_URL_INVALID"),
        ({"url": "http://127.0.0.1/x#frag"}, 400, "WEBHOOK_URL_INVALID"),
        ({"event_types": ["card.exploded"]}, 400, "VALIDATION_ERROR"),
        ({"event_types": []}, 400, "VALIDATION_ERROR"),
        ({"url": 5}, 400, None),
    ],
)
def test_bad_input_is_refused_with_a_stable_code_and_nothing_made(operator, fields, status, code):
    answer = register(client_for(operator), **fields)
    assert answer.status_code == status, answer.json()
    if code:
        assert answer.json()["code"] == code
    assert not WebhookEndpoint.objects.exists()


def test_in_production_a_loopback_url_is_refused(operator, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = False
    answer = register(client_for(operator))
    assert (answer.status_code, answer.json()["code"]) == (422, "WEBHOOK_URL_NOT_ALLOWED")
    assert not WebhookEndpoint.objects.exists()


def test_a_second_registration_of_the_same_url_is_a_conflict_not_a_twin(operator):
    client = client_for(operator)
    first = register(client).json()
    again = register(client)
    assert (again.status_code, again.json()["code"]) == (409, "WEBHOOK_ENDPOINT_EXISTS")
    assert again.json()["endpoint_id"] == first["id"]
    assert b"whsec_" not in again.content
    assert WebhookEndpoint.objects.count() == 1


def test_update_and_enable_again_clears_the_reason(operator):
    client = client_for(operator)
    endpoint_id = register(client).json()["id"]
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(
        is_enabled=False, disabled_reason="Disabled automatically: ...", consecutive_failures=20
    )
    answer = client.patch(
        f"/api/v1/webhook-endpoints/{endpoint_id}",
        {"is_enabled": True, "event_types": ["*"]},
        format="json",
    ).json()
    assert answer["is_enabled"] and answer["disabled_reason"] == ""
    assert answer["event_types"] == ["*"] and answer["consecutive_failures"] == 0
    paused = client.patch(
        f"/api/v1/webhook-endpoints/{endpoint_id}", {"is_enabled": False}, format="json"
    ).json()
    assert not paused["is_enabled"] and paused["disabled_reason"]
    assert client.delete(f"/api/v1/webhook-endpoints/{endpoint_id}").status_code == 204
    assert not WebhookEndpoint.objects.filter(pk=endpoint_id).exists()
