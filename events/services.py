"""Recording events, in the caller's transaction.

``event_record`` writes one event; ``event_record_many`` writes one per row of a SELECT in a
single ``INSERT ... SELECT`` (for jobs that change many objects at once); ``event_record_bulk``
writes a list built in Python. Each reads the request id and Idempotency-Key of the request that
caused it from ``common.context`` and arranges for ``events.signals.events_committed`` to be sent
once when the outermost transaction commits: a rolled-back change leaves neither rows nor a signal.

``settings.EVENTS_ENABLED = False`` turns recording off (the crediting benchmark compares both).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max

from common.context import current_idempotency_key, current_request_id
from events.models import PUBLIC_ID_PREFIX, Event, EventType, new_public_id
from events.signals import events_committed

# events.models.new_public_id's form in SQL: the statement's prefix (the milliseconds and 12 random
# hex digits, one parameter from public_id_statement_prefix), then the row's number in the
# statement (8 hex digits). A statement's ids ascend, so the unique index takes them at one place
# instead of all over its newest pages: random suffixes made it the dearest index of a job's
# events. An id is a name, never a credential (reading an event takes access).
PUBLIC_ID_SQL = "%s || lpad(to_hex(row_number() OVER ()), 8, '0')"


def public_id_statement_prefix() -> str:
    """``evt_``, the current milliseconds since the epoch and 12 random hex digits."""
    return new_public_id()[: len(PUBLIC_ID_PREFIX) + 24]


def events_enabled() -> bool:
    return getattr(settings, "EVENTS_ENABLED", True)


def _send_events_committed() -> None:
    events_committed.send(sender=Event)


def _schedule_events_committed() -> None:
    """Once per transaction: Django drops callbacks registered in a savepoint that rolls back, so a
    later event in the same transaction registers it again."""
    if connection.in_atomic_block and any(
        callback is _send_events_committed for _, callback, _ in connection.run_on_commit
    ):
        return
    transaction.on_commit(_send_events_committed)


def event_row(
    *,
    type: EventType | str,
    now: datetime,
    object_type: str,
    object_id: Any,
    data: Mapping[str, Any],
    city_id: int | None = None,
    person_id: int | None = None,
    institution_id: int | None = None,
    is_test: bool = False,
    triggered_by_id: int | None = None,
) -> Event | None:
    """One event as an unsaved row (``None`` when recording is turned off), for a flow that
    writes it with its own rows in one statement (``common.statements``) and then calls
    :func:`events_written`."""
    if not events_enabled():
        return None
    return Event(
        type=EventType(type),
        occurred_at=now,
        object_type=object_type,
        object_id=str(object_id),
        data=dict(data),
        city_id=city_id,
        person_id=person_id,
        institution_id=institution_id,
        request_id=current_request_id()[:64],
        idempotency_key=current_idempotency_key(),
        is_test=is_test,
        triggered_by_id=triggered_by_id,
    )


def events_written() -> None:
    """Events were written in the current transaction by the caller's own statement: send
    ``events_committed`` once it commits."""
    _schedule_events_committed()


def event_record(**fields: Any) -> Event | None:
    """Record one event, given as ``event_row`` takes it (``None`` when recording is turned off);
    a test event names the user who triggered it (``triggered_by_id``), the only one besides
    superusers who sees it."""
    event = event_row(**fields)
    if event is None:
        return None
    event.save(force_insert=True)
    _schedule_events_committed()
    return event


@dataclass(frozen=True)
class EventDraft:
    """One event of ``event_record_bulk``."""

    type: EventType | str
    object_type: str
    object_id: Any
    data: Mapping[str, Any] = field(default_factory=dict)
    city_id: int | None = None
    person_id: int | None = None
    institution_id: int | None = None


def event_record_bulk(drafts: Iterable[EventDraft], *, now: datetime, is_test: bool = False) -> int:
    """Record many events built in Python in one bulk insert; answers how many."""
    if not events_enabled():
        return 0
    request_id, idempotency_key = current_request_id()[:64], current_idempotency_key()
    events = [
        Event(
            type=EventType(draft.type),
            occurred_at=now,
            object_type=draft.object_type,
            object_id=str(draft.object_id),
            data=dict(draft.data),
            city_id=draft.city_id,
            person_id=draft.person_id,
            institution_id=draft.institution_id,
            request_id=request_id,
            idempotency_key=idempotency_key,
            is_test=is_test,
        )
        for draft in drafts
    ]
    if not events:
        return 0
    Event.objects.bulk_create(events, batch_size=5000)
    _schedule_events_committed()
    return len(events)


def event_record_many(
    *,
    type: EventType | str,
    now: datetime,
    select_sql: str,
    params: Sequence[Any] = (),
    is_test: bool = False,
    with_sql: str = "",
    with_params: Sequence[Any] = (),
) -> int:
    """Record one event per row of ``select_sql`` in one ``INSERT ... SELECT``; answers how many.

    The SELECT names its columns ``object_type``, ``object_id``, ``city_id``, ``person_id``,
    ``institution_id`` and ``data`` (jsonb); rows are inserted in the SELECT's order.
    ``with_sql`` (with ``with_params``) is a ``WITH`` list put before the INSERT: a job can make
    its change there (``up AS (INSERT ... RETURNING ...)``) and select the events of the rows it
    changed, reading the table as it was before the statement.
    """
    if not events_enabled():
        return 0
    table = Event._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            {f"WITH {with_sql}" if with_sql else ""}
            INSERT INTO {table} (
                public_id, type, occurred_at, created_at, city_id, person_id, institution_id,
                object_type, object_id, data, request_id, idempotency_key, is_test
            )
            SELECT {PUBLIC_ID_SQL}, %s, %s, clock_timestamp(),
                   s.city_id, s.person_id, s.institution_id, s.object_type, s.object_id::text,
                   s.data, %s, %s, %s
              FROM ({select_sql}) AS s
            """,  # noqa: S608 (the SELECT is the caller's code, values are parameters)
            [
                *with_params,
                public_id_statement_prefix(),
                EventType(type).value,
                now,
                current_request_id()[:64],
                current_idempotency_key(),
                is_test,
                *params,
            ],
        )
        count = cursor.rowcount
    if count:
        _schedule_events_committed()
    return count


def event_last_id() -> int:
    """The newest event's primary key (0 when there is none)."""
    return Event.objects.aggregate(last=Max("id"))["last"] or 0


def events_purge_expired(*, now: datetime, batch_size: int = 10_000) -> int:
    """Delete the events recorded more than EVENTS_RETENTION_DAYS before ``now`` (real time), in
    batches of ``batch_size``, each its own short transaction (with what refers to them, such as
    their webhook deliveries); answers how many."""
    cutoff = now - timedelta(days=settings.EVENTS_RETENTION_DAYS)
    deleted = 0
    while True:
        with transaction.atomic():
            batch = list(
                Event.objects.filter(created_at__lt=cutoff)
                .order_by("id")
                .values_list("id", flat=True)[:batch_size]
            )
            if not batch:
                return deleted
            Event.objects.filter(id__in=batch).delete()
            deleted += len(batch)
