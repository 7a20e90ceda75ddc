"""Celery entry points. ``webhooks.dispatch`` turns new events into deliveries and sends the
deliveries that are due (after each transaction that recorded events, and every minute from the
beat schedule as a safety net); ``webhooks.deliver`` sends a batch of one endpoint's deliveries.

Both are idempotent and acknowledged late: a message handed out twice, or again after its worker
died, finds the deliveries done (or locked by the one sending them) and sends nothing twice that
was recorded as delivered. Deliveries keep real time (network retries), not the sandbox clock."""

import logging
from collections import defaultdict
from datetime import datetime

from celery import current_app, shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from webhooks.dispatch import deliveries_create, deliveries_due
from webhooks.models import WebhookDelivery
from webhooks.services import deliveries_send

logger = logging.getLogger(__name__)

TASK_POLICY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "max_retries": 5,
    "acks_late": True,
}
# A retry due further ahead than this is not held by a worker as a timed message: the beat
# schedule's dispatch sends it when it falls due.
LONGEST_TIMED_MESSAGE_SECONDS = 600


# Set while a dispatch is queued and not started: a burst of commits queues one dispatch, which
# takes every event committed before it starts. It expires, should that message be lost.
DISPATCH_QUEUED_KEY = "webhooks:dispatch-queued"
DISPATCH_QUEUED_SECONDS = 30


def dispatch_after_commit(sender, **kwargs) -> None:
    """``events_committed`` receiver: hand the dispatch to a worker, never slowing or failing
    the request that recorded the events (the beat schedule's dispatch covers a lost message)."""
    if not cache.add(DISPATCH_QUEUED_KEY, 1, DISPATCH_QUEUED_SECONDS):
        return
    try:
        dispatch.delay()
    except Exception:  # a broker outage must not turn a committed change into an error
        cache.delete(DISPATCH_QUEUED_KEY)
        logger.warning("webhook dispatch not queued; the periodic dispatch will pick it up")


def _batches(deliveries_by_endpoint: dict[int, list[int]]) -> list[list[int]]:
    size = settings.WEBHOOK_BATCH_SIZE
    return [
        ids[start : start + size]
        for _, ids in sorted(deliveries_by_endpoint.items())
        for start in range(0, len(ids), size)
    ]


@shared_task(name="webhooks.dispatch", **TASK_POLICY)
def dispatch() -> dict:
    # Before reading the events: a commit from now on queues the next dispatch.
    cache.delete(DISPATCH_QUEUED_KEY)
    now = timezone.now()
    outcome = deliveries_create(now=now)
    due = deliveries_due(now=now)
    for endpoint_id, ids in outcome.created.items():
        due[endpoint_id] = sorted({*due.get(endpoint_id, []), *ids})
    batches = _batches(due)
    for batch in batches:
        deliver.delay(batch)
    created = sum(len(ids) for ids in outcome.created.values())
    return {"created": created, "batches": len(batches), "gaps": outcome.gaps}


@shared_task(name="webhooks.deliver", **TASK_POLICY)
def deliver(delivery_ids: list[int]) -> dict:
    outcome = deliveries_send(delivery_ids=delivery_ids, now=timezone.now())
    _retries_schedule(outcome.retrying)
    return {"sent": outcome.sent, "succeeded": outcome.succeeded, "failed": outcome.failed}


def _retries_schedule(retrying: dict[int, datetime]) -> None:
    """Send each retry as a timed message (grouped by when it is due); the ones further ahead, and
    every one when tasks run in-process (the demo), wait for the periodic dispatch."""
    if not retrying or current_app.conf.task_always_eager:
        return
    now = timezone.now()
    by_due: dict[datetime, list[int]] = defaultdict(list)
    for delivery_id, due in retrying.items():
        if (due - now).total_seconds() <= LONGEST_TIMED_MESSAGE_SECONDS:
            by_due[due].append(delivery_id)
    for due, ids in sorted(by_due.items()):
        try:
            deliver.apply_async(args=[ids], eta=due)
        except Exception:
            logger.warning("webhook retry not queued; the periodic dispatch will send it")
            continue
        WebhookDelivery.objects.filter(id__in=ids, status=WebhookDelivery.Status.PENDING).update(
            enqueued_at=due
        )
