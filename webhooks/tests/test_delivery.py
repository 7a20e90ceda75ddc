"""Deliveries for real: events recorded and committed, a Celery worker on the Redis broker, and an
HTTP receiver on loopback that verifies every signature with the ``standardwebhooks`` library."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone, translation
from standardwebhooks import Webhook, WebhookVerificationError

from cities.tests.factories import CityFactory
from common import clock
from events.models import Event, EventType
from events.services import event_record
from tests.support import client_for, wait_for
from users.tests.factories import OperatorFactory
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoint_create, endpoint_rotate_secret
from webhooks.tests.receiver import CLOSE, ERROR, HANG, OK

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]


@pytest.fixture
def fast_retries(settings):
    settings.WEBHOOK_RETRY_DELAYS = [0, 0, 0]
    settings.WEBHOOK_READ_TIMEOUT = 1.0
    settings.WEBHOOK_CONNECT_TIMEOUT = 1.0
    return settings


@pytest.fixture
def city():
    return CityFactory()


@pytest.fixture
def operator(city):
    return OperatorFactory(cities=[city])


def record(city, type=EventType.CARD_STATUS_CHANGED, **data) -> Event:
    with transaction.atomic():
        return event_record(
            type=type,
            now=clock.now(),
            object_type="card",
            object_id=41,
            data={"before": {"status": "READY"}, "after": {"status": "ACTIVE"}} | data,
            city_id=city.pk,
        )


def endpoint_for(owner, receiver, types=(EventType.CARD_STATUS_CHANGED,)):
    endpoint, secret = endpoint_create(
        owner=owner, url=receiver.url(), event_types=list(types), now=timezone.now()
    )
    return endpoint, secret


def deliveries(endpoint):
    return WebhookDelivery.objects.filter(endpoint=endpoint)


def settled(endpoint, count=1):
    """Wait until ``count`` deliveries of the endpoint are done (delivered or failed)."""
    wait_for(
        lambda: deliveries(endpoint).exclude(status=WebhookDelivery.Status.PENDING).count() >= count
    )
    return list(deliveries(endpoint).order_by("id"))


def test_an_event_is_delivered_signed_as_the_standard_says(city, operator, receiver, celery_worker):
    endpoint, secret = endpoint_for(operator, receiver)
    event = record(city)
    [delivery] = settled(endpoint)
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    [request] = receiver.requests
    assert request.headers["webhook-id"] == event.public_id
    assert request.headers["content-type"] == "application/json"
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "card.status_changed"
    assert payload["data"]["id"] == event.public_id
    assert payload["data"]["data"] == {"before": {"status": "READY"}, "after": {"status": "ACTIVE"}}
    assert payload["data"]["object"] == {"type": "card", "id": "41"}
    assert payload["data"]["city"] == city.code and payload["data"]["is_test"] is False
    # The same event as the events API shows it.
    shown = client_for(operator).get(f"/api/v1/events/{event.public_id}").json()
    assert payload["data"] == shown
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(request.body.replace(b"ACTIVE", b"LOST"), request.headers)
    [attempt] = WebhookAttempt.objects.filter(delivery=delivery)
    assert (attempt.succeeded, attempt.status_code, attempt.number) == (True, 204, 1)


def test_during_a_rotation_both_secrets_verify_and_afterwards_only_the_new(
    city, operator, receiver, celery_worker
):
    endpoint, old = endpoint_for(operator, receiver)
    new = endpoint_rotate_secret(endpoint=endpoint, now=timezone.now())
    record(city)
    settled(endpoint)
    request = receiver.requests[-1]
    assert Webhook(old).verify(request.body, request.headers)
    assert Webhook(new).verify(request.body, request.headers)

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    record(city)
    settled(endpoint, 2)
    request = receiver.requests[-1]
    Webhook(new).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(request.body, request.headers)


@pytest.mark.parametrize(
    ("failure", "error"),
    [(ERROR, ""), (HANG, "read timeout"), (CLOSE, "connection")],
    ids=["500", "hang", "closed"],
)
def test_a_failing_receiver_gets_retries_with_the_same_webhook_id(
    city, operator, receiver, celery_worker, fast_retries, failure, error
):
    receiver.answer(failure, failure, then=OK)
    endpoint, secret = endpoint_for(operator, receiver)
    event = record(city)
    [delivery] = settled(endpoint)
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert receiver.ids() == [event.public_id] * 3
    attempts = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [attempt.succeeded for attempt in attempts] == [False, False, True]
    assert attempts[0].error.startswith(error) or error in attempts[0].error
    if failure == ERROR:
        assert attempts[0].status_code == 500
        assert attempts[0].response_excerpt == "Internal Server Error"
        # Kept in English whatever language the worker had; shown in the reader's.
        assert attempts[0].error == "the receiver did not answer 2xx"
        with translation.override("zh-hans"):
            assert attempts[0].shown_error == "接收方未返回 2xx"
        with translation.override("en"):
            assert attempts[0].shown_error == "the receiver did not answer 2xx"
    if failure == HANG:
        assert attempts[0].duration_ms < 5000  # the read timeout, not the receiver, ended it
    for request in receiver.requests:
        Webhook(secret).verify(request.body, request.headers)


def test_a_receiver_that_keeps_failing_fails_the_delivery_and_disables_the_endpoint(
    city, operator, receiver, celery_worker, fast_retries
):
    fast_retries.WEBHOOK_DISABLE_AFTER_FAILURES = 2
    receiver.answer(then=ERROR)
    endpoint, _ = endpoint_for(operator, receiver)
    record(city)
    [first] = settled(endpoint)
    assert first.status == WebhookDelivery.Status.FAILED
    assert first.attempts.count() == 4  # the first try and three retries
    endpoint.refresh_from_db()
    assert endpoint.is_enabled and endpoint.consecutive_failures == 1
    record(city)
    settled(endpoint, 2)
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled
    assert "2 deliveries in a row failed" in endpoint.disabled_reason

    # Disabled: a new event waits, nothing is sent; enabling it again sends it.
    sent = len(receiver.requests)
    receiver.answer(then=OK)
    record(city)
    wait_for(lambda: deliveries(endpoint).count() == 3)
    client = client_for(operator)
    listed = client.get(f"/api/v1/webhook-endpoints/{endpoint.pk}").json()
    assert listed["disabled_reason"] == endpoint.disabled_reason
    assert len(receiver.requests) == sent
    client.patch(f"/api/v1/webhook-endpoints/{endpoint.pk}", {"is_enabled": True}, format="json")
    from webhooks.tasks import dispatch

    dispatch.delay()
    wait_for(lambda: deliveries(endpoint).filter(status="SUCCEEDED").count() == 1)
    assert len(receiver.requests) == sent + 1


def test_only_events_the_owner_may_see_of_the_types_asked_are_delivered(
    city, operator, receiver, celery_worker
):
    endpoint, _ = endpoint_for(operator, receiver)
    elsewhere = CityFactory()
    record(elsewhere)  # another city's
    record(city, type=EventType.SETTLEMENT_CREATED)  # a type not asked for
    with pytest.raises(RuntimeError), transaction.atomic():
        event_record(
            type=EventType.CARD_STATUS_CHANGED,
            now=clock.now(),
            object_type="card",
            object_id=1,
            data={},
            city_id=city.pk,
        )
        raise RuntimeError("rolled back")
    wanted = record(city)
    [delivery] = settled(endpoint)
    assert delivery.event_id == wanted.pk
    assert receiver.ids() == [wanted.public_id]


def test_a_delivery_is_refused_at_send_time_when_the_address_is_no_longer_allowed(
    city, operator, receiver, celery_worker, fast_retries
):
    """DNS rebinding: a URL accepted at registration is checked again before each attempt."""
    endpoint, _ = endpoint_for(operator, receiver)
    fast_retries.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = False
    record(city)
    [delivery] = settled(endpoint)
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert receiver.requests == []
    errors = set(delivery.attempts.values_list("error", flat=True))
    assert len(errors) == 1 and errors.pop().startswith("WEBHOOK_URL_NOT_ALLOWED")


def test_resend_and_retry_deliver_again_with_the_same_webhook_id(
    city, operator, receiver, celery_worker
):
    endpoint, _ = endpoint_for(operator, receiver)
    event = record(city)
    [delivery] = settled(endpoint)
    client = client_for(operator)
    resent = client.post(f"/api/v1/events/{event.public_id}/resend", {}, format="json")
    assert resent.status_code == 202, resent.json()
    wait_for(lambda: len(receiver.requests) == 2)
    retried = client.post(f"/api/v1/webhook-deliveries/{delivery.pk}/retry")
    assert retried.status_code == 202
    wait_for(lambda: len(receiver.requests) == 3)
    assert receiver.ids() == [event.public_id] * 3
    wait_for(lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == "SUCCEEDED")
    listed = client.get(f"/api/v1/webhook-endpoints/{endpoint.pk}/deliveries").json()
    [row] = listed["results"]
    assert row["webhook_id"] == event.public_id and row["attempts_total"] == 3
    assert [attempt["status_code"] for attempt in row["attempts"]] == [204, 204, 204]

    stranger = client_for(OperatorFactory(cities=[city]))
    assert stranger.post(f"/api/v1/webhook-deliveries/{delivery.pk}/retry").status_code == 404
    other_city = client_for(OperatorFactory(cities=[CityFactory()]))
    refused = other_city.post(f"/api/v1/events/{event.public_id}/resend", {}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (404, "WEBHOOK_EVENT_NOT_VISIBLE")


def test_a_triggered_test_event_goes_to_the_callers_endpoints_only(
    city, operator, receiver, celery_worker
):
    endpoint, secret = endpoint_for(operator, receiver)
    colleague = OperatorFactory(cities=[city])  # sees the same events, has an endpoint too
    other, _ = endpoint_for(colleague, receiver)
    record(city)
    settled(endpoint)
    settled(other)
    assert len(receiver.requests) == 2

    answer = client_for(operator).post(
        "/api/v1/sandbox/events/trigger",
        {
            "type": "card.status_changed",
            "object_type": "card",
            "object_id": "41",
            "data": {"before": {"status": "ACTIVE"}, "after": {"status": "LOST"}},
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    test_event = Event.objects.get(public_id=answer.json()["event"])
    assert test_event.is_test and test_event.city_id == city.pk
    wait_for(lambda: len(receiver.requests) == 3)
    request = receiver.requests[-1]
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["data"]["is_test"] is True
    assert payload["data"]["data"] == {"before": {"status": "ACTIVE"}, "after": {"status": "LOST"}}
    assert request.headers["webhook-id"] == test_event.public_id
    # The dispatcher never sends a test event to anyone else.
    from webhooks.tasks import dispatch

    dispatch.delay()
    wait_for(lambda: WebhookDelivery.objects.filter(event=test_event).exclude(status="PENDING"))
    assert list(
        WebhookDelivery.objects.filter(event=test_event).values_list("endpoint", flat=True)
    ) == [endpoint.pk]

    unknown = client_for(operator).post(
        "/api/v1/sandbox/events/trigger",
        {"type": "card.status_changed", "object_type": "card", "object_id": "999"},
        format="json",
    )
    assert (unknown.status_code, unknown.json()["code"]) == (
        404,
        "WEBHOOK_TRIGGER_OBJECT_NOT_FOUND",
    )
