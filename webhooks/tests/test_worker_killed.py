"""At-least-once for real: a worker of its own process (prefork) is killed with SIGKILL while the
receiver holds its delivery; nothing is recorded, and a new worker, from the periodic dispatch,
delivers the event again with the same webhook-id, once on record."""

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from cities.tests.factories import CityFactory
from config.celery_app import app as celery_app
from events.models import Event, EventType
from tests.support import wait_for
from tests.test_real_concurrency import _dead, _forget_unacked
from users.tests.factories import OperatorFactory
from webhooks.dispatch import deliveries_create
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import endpoint_create
from webhooks.tests.receiver import BLOCK, OK

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_worker_killed_mid_delivery_leaves_it_to_be_delivered_again_with_the_same_id(
    receiver, prefork_worker, monkeypatch
):
    # The new worker's dispatch sends again a delivery whose message went out a second ago.
    monkeypatch.setenv("WEBHOOK_REQUEUE_AFTER_SECONDS", "1")
    city = CityFactory()
    _, secret = endpoint_create(
        owner=OperatorFactory(cities=[city]),
        url=receiver.url(),
        event_types=["*"],
        now=timezone.now(),
    )
    event = Event.objects.create(
        type=EventType.CARD_STATUS_CHANGED,
        occurred_at=timezone.now(),
        object_type="card",
        object_id="7",
        city_id=city.pk,
    )
    [[delivery_id]] = deliveries_create(now=timezone.now()).created.values()
    receiver.answer(BLOCK, then=OK)

    first = prefork_worker()
    message = celery_app.send_task("webhooks.deliver", args=[[delivery_id]], queue=first.queue)
    try:
        assert receiver.got_blocked_request.wait(timeout=60)
        pool = first.pool_processes()
        first.kill()
        wait_for(lambda: all(_dead(pid) for pid in pool), timeout=10)
        receiver.release.set()

        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        assert delivery.status == WebhookDelivery.Status.PENDING
        assert not WebhookAttempt.objects.filter(delivery_id=delivery_id).exists()

        second = prefork_worker()
        celery_app.send_task("webhooks.dispatch", queue=second.queue)
        wait_for(
            lambda: (
                WebhookDelivery.objects.get(pk=delivery_id).status
                == WebhookDelivery.Status.SUCCEEDED
            ),
            timeout=90,
        )
    finally:
        _forget_unacked(message.id)
    assert receiver.ids() == [event.public_id, event.public_id]
    for request in receiver.requests:
        Webhook(secret).verify(request.body, request.headers)
    [attempt] = WebhookAttempt.objects.filter(delivery_id=delivery_id)
    assert attempt.succeeded and attempt.status_code == 204
    assert WebhookDelivery.objects.filter(event=event).count() == 1
