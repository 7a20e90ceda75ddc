"""From the event log to deliveries, set-based.

``deliveries_create`` runs after every transaction that recorded events (through the
``events_committed`` signal and a task) and periodically as a safety net. Under one lock it reads
the events after its cursor (and the ids it found missing last time), and for each endpoint
inserts one delivery per event the endpoint asks for and its owner may see, in one
``INSERT ... SELECT ... ON CONFLICT DO NOTHING``: the unique (event, endpoint) constraint makes
every event reach every endpoint once, however often the dispatcher runs. Which events an owner
sees is the events API's own rule (``access.events_visible``).

Test events (``is_test``: triggered in the sandbox) are not dispatched here: whoever triggers one
gets it on their own endpoints only (``webhooks.services.event_trigger``)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q

import access
from events.models import Event
from webhooks.models import ALL_EVENT_TYPES, WebhookDelivery, WebhookDispatchCursor, WebhookEndpoint

# One dispatcher at a time (a transaction-level advisory lock; the number is this module's own).
_DISPATCH_LOCK = 7_411_001


@dataclass(frozen=True)
class DispatchOutcome:
    created: dict[int, list[int]]  # endpoint id -> the deliveries just made (marked as sent)
    last_event_id: int
    gaps: int


def events_for_endpoint(endpoint: WebhookEndpoint):
    """The events ``endpoint`` is to receive, not yet limited to new ones: those its owner may
    see, of the types it asks for, recorded since it was registered, test events excluded."""
    events = access.events_visible(access.Actor(user=endpoint.owner), request=None)
    events = events.filter(is_test=False, created_at__gte=endpoint.created_at)
    if ALL_EVENT_TYPES not in endpoint.event_types:
        events = events.filter(type__in=endpoint.event_types)
    return events


def _missing_ranges(after_id: int, up_to_id: int) -> list[tuple[int, int]]:
    """The ids in (after_id, up_to_id] that no event row has (yet), as [first, last] ranges."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT previous + 1, id - 1
              FROM (SELECT id, lag(id, 1, %s) OVER (ORDER BY id) AS previous
                      FROM {Event._meta.db_table}
                     WHERE id > %s AND id <= %s) AS ids
             WHERE id - previous > 1
            """,  # noqa: S608 (a model's table name; values are parameters)
            [after_id, after_id, up_to_id],
        )
        return [(first, last) for first, last in cursor.fetchall()]


def _insert_deliveries(endpoint: WebhookEndpoint, window: Q, now: datetime) -> list[int]:
    """The endpoint's new deliveries, in event order; an enabled endpoint's are marked as sent
    (the caller sends them), a disabled one's wait for it to be enabled."""
    events = events_for_endpoint(endpoint).filter(window).order_by().values("id")
    select_sql, params = events.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {WebhookDelivery._meta.db_table}
                   (endpoint_id, event_id, status, round_attempts, attempts_total,
                    next_attempt_at, enqueued_at, created_at)
            SELECT %s, visible.id, %s, 0, 0, %s, %s, %s
              FROM ({select_sql}) AS visible ORDER BY visible.id
            ON CONFLICT (event_id, endpoint_id) DO NOTHING
            RETURNING id
            """,  # noqa: S608 (the SELECT is built by the ORM; values are parameters)
            [
                endpoint.pk,
                WebhookDelivery.Status.PENDING,
                now,
                now if endpoint.is_enabled else None,
                now,
                *params,
            ],
        )
        return sorted(row[0] for row in cursor.fetchall())


def deliveries_create(*, now: datetime) -> DispatchOutcome:
    """Create the deliveries of every event recorded since the last dispatch (see the module)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_DISPATCH_LOCK])
        state, _ = WebhookDispatchCursor.objects.get_or_create(pk=1)
        after_id = state.last_event_id
        up_to_id = Event.objects.aggregate(last=Max("id"))["last"] or after_id
        up_to_id = max(up_to_id, after_id)
        # Missing ids are read before the deliveries are inserted: an event that commits in
        # between is then either in the insert or among the gaps looked at next time.
        expiry = now - timedelta(minutes=settings.WEBHOOK_GAP_TIMEOUT_MINUTES)
        gaps = [gap for gap in state.gaps if datetime.fromisoformat(gap[2]) >= expiry] + [
            [first, last, now.isoformat()] for first, last in _missing_ranges(after_id, up_to_id)
        ]
        if up_to_id == after_id and not state.gaps:
            return DispatchOutcome(created={}, last_event_id=after_id, gaps=0)
        window = Q(id__gt=after_id, id__lte=up_to_id)
        for first, last, _seen in state.gaps:
            window |= Q(id__gte=first, id__lte=last)
        created: dict[int, list[int]] = {}
        # A disabled endpoint's deliveries are made too: they wait, and go once it is enabled.
        for endpoint in WebhookEndpoint.objects.select_related("owner").order_by("id"):
            new = _insert_deliveries(endpoint, window, now)
            if new and endpoint.is_enabled:
                created[endpoint.pk] = new
        # Gaps that have since filled are dropped by reading them again next time (cheap: an
        # index range each); keep the list bounded all the same.
        state.last_event_id = up_to_id
        state.gaps = _gaps_still_missing(gaps)[-1000:] if gaps else []
        state.save(update_fields=["last_event_id", "gaps", "updated_at"])
    return DispatchOutcome(created=created, last_event_id=up_to_id, gaps=len(state.gaps))


def _gaps_still_missing(gaps: list[list]) -> list[list]:
    """The gap ranges with the ids that have appeared since taken out (a range may split)."""
    still: list[list] = []
    for first, last, seen in gaps:
        present = list(
            Event.objects.filter(id__gte=first, id__lte=last)
            .order_by("id")
            .values_list("id", flat=True)[: last - first + 1]
        )
        start = first
        for event_id in present:
            if event_id > start:
                still.append([start, event_id - 1, seen])
            start = event_id + 1
        if start <= last:
            still.append([start, last, seen])
    return still


def deliveries_due(*, now: datetime, limit: int = 10_000) -> dict[int, list[int]]:
    """PENDING deliveries that are due and whose message is overdue (never sent, or sent longer
    than ``WEBHOOK_REQUEUE_AFTER_SECONDS`` ago: lost with a broker or a worker), by endpoint; they
    are marked as sent now. A delivery being sent right now is locked and left alone."""
    stale = now - timedelta(seconds=settings.WEBHOOK_REQUEUE_AFTER_SECONDS)
    by_endpoint: dict[int, list[int]] = defaultdict(list)
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale),
                status=WebhookDelivery.Status.PENDING,
                next_attempt_at__lte=now,
                endpoint__is_enabled=True,
            )
            .order_by("next_attempt_at", "id")
            .values_list("id", "endpoint_id")[:limit]
        )
        for delivery_id, endpoint_id in due:
            by_endpoint[endpoint_id].append(delivery_id)
        WebhookDelivery.objects.filter(id__in=[delivery_id for delivery_id, _ in due]).update(
            enqueued_at=now
        )
    return dict(by_endpoint)
