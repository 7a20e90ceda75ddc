"""Events are written in the transaction of the change they report, and only if it commits."""

import re
from datetime import UTC, datetime

import pytest
from django.db import transaction

from common.context import idempotency_key_var, request_id_var
from events.models import Event, EventType
from events.services import event_record, event_record_many
from events.signals import events_committed

NOW = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def commits():
    """The number of times events_committed was sent."""
    sent = []

    def receiver(sender, **kwargs):
        sent.append(sender)

    events_committed.connect(receiver)
    yield sent
    events_committed.disconnect(receiver)


def _record(object_id="1"):
    return event_record(
        type=EventType.CARD_STATUS_CHANGED,
        now=NOW,
        object_type="card",
        object_id=object_id,
        data={"after": "ACTIVE"},
    )


def test_event_committed_with_its_transaction_and_signal_sent_once(commits):
    request_token = request_id_var.set("req-1")
    key_token = idempotency_key_var.set("key-1")
    try:
        with transaction.atomic():
            first = _record("1")
            _record("2")
            assert commits == []
    finally:
        request_id_var.reset(request_token)
        idempotency_key_var.reset(key_token)
    assert len(commits) == 1
    first.refresh_from_db()
    assert first.public_id.startswith("evt_")
    assert (first.request_id, first.idempotency_key) == ("req-1", "key-1")
    assert first.occurred_at == NOW
    assert Event.objects.count() == 2


def test_rolled_back_change_leaves_no_event_and_no_signal(commits):
    with pytest.raises(RuntimeError), transaction.atomic():
        _record()
        raise RuntimeError("the change failed")
    assert Event.objects.count() == 0
    assert commits == []


def test_rolled_back_savepoint_drops_its_event_but_a_later_one_still_signals(commits):
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            _record("1")
            raise RuntimeError("inner change failed")
        _record("2")
    assert list(Event.objects.values_list("object_id", flat=True)) == ["2"]
    assert len(commits) == 1


def test_set_based_recording_inserts_one_event_per_row(commits):
    with transaction.atomic():
        count = event_record_many(
            type=EventType.CREDITING_POSTED,
            now=NOW,
            select_sql="""
                SELECT 'account' AS object_type, n AS object_id, NULL::bigint AS city_id,
                       n AS person_id, NULL::bigint AS institution_id,
                       jsonb_build_object('n', n) AS data
                  FROM generate_series(1, %s) AS n ORDER BY n
            """,
            params=[3],
        )
    assert count == 3
    rows = list(Event.objects.order_by("id").values_list("object_id", "person_id", "data"))
    assert rows == [("1", 1, {"n": 1}), ("2", 2, {"n": 2}), ("3", 3, {"n": 3})]
    assert len({e.public_id for e in Event.objects.all()}) == 3
    assert len(commits) == 1


def test_set_based_public_ids_have_the_single_events_form_and_ascend_within_a_statement():
    single = event_record(
        type=EventType.CARD_STATUS_CHANGED, now=NOW, object_type="card", object_id="0", data={}
    )
    for _ in range(2):
        event_record_many(
            type=EventType.CREDITING_POSTED,
            now=NOW,
            select_sql="""
                SELECT 'account' AS object_type, n AS object_id, NULL::bigint AS city_id,
                       NULL::bigint AS person_id, NULL::bigint AS institution_id,
                       '{}'::jsonb AS data
                  FROM generate_series(1, 300) AS n ORDER BY n
            """,
        )
    rows = list(
        Event.objects.exclude(pk=single.pk).order_by("id").values_list("object_id", "public_id")
    )
    first, second = [public_id for _, public_id in rows[:300]], [p for _, p in rows[300:]]
    assert all(re.fullmatch(r"evt_[0-9a-f]{32}", public_id) for public_id in first + second)
    assert len(set(first + second)) == 600
    # The first 12 hex digits are the milliseconds: never before the single event's.
    assert min(public_id[4:16] for public_id in first) >= single.public_id[4:16]
    # Each statement's ids ascend in its rows' order and share a random stem no other has.
    assert first == sorted(first) and second == sorted(second)
    assert [object_id for object_id, _ in rows[:300]] == [str(n) for n in range(1, 301)]
    assert len({public_id[:28] for public_id in first}) == 1
    assert first[0][16:28] != second[0][16:28]


def test_recording_turned_off_writes_nothing(settings, commits):
    settings.EVENTS_ENABLED = False
    with transaction.atomic():
        assert _record() is None
    assert Event.objects.count() == 0
    assert commits == []
