"""The events of uploads (see events): upload.completed when a city's upload finishes, and, inside
each chunk, person.balance.changed for every person whose online answer the new snapshot changes
(a first snapshot removes DATA_NOT_UPLOADED; a snapshot taken after a first crediting removes
FUNDS_NOT_YET_TRANSFERRED), computed in the chunk's one statement (``uploads.balance_sql``).

Also the balance events of a crediting chunk's first creditings (``events.signals.
creditings_posted``): the online answer of a person not yet uploaded reads the live ledger, so
whether a first crediting changes it depends on the snapshot, which this floor knows."""

# ruff: noqa: S608 (the SQL is built from the models' table names and constants, never input)

import re
from datetime import datetime

from cities.models import City
from common import clock
from events.models import EventType
from events.services import event_record, event_record_many, events_enabled
from uploads.balance_sql import (
    ACCOUNT,
    CREDITING,
    PERSON,
    OnlineState,
    balance_events_sql,
    channel_reasons_sql,
    online_reasons_sql,
)
from uploads.models import CityUpload


def _literal(flag: bool) -> str:
    return "TRUE" if flag else "FALSE"


def city_online_state(city: City, *, today, **snapshot) -> OnlineState:
    """The city's switches as SQL literals (they are the same for every person of a chunk)."""
    return OnlineState(
        launched=_literal(city.online_inquiry_launched),
        shown_online=_literal(city.personal_account_shown_online),
        public_channel=_literal(city.has_public_upload_channel),
        forced_busy=_literal(city.platform_busy_forced),
        abolished=f"(p.scheme = 'RESIDENT' AND {_literal(city.resident_accounts_abolished_by(today))})",
        **snapshot,
    )


def _positional(sql: str, params: dict) -> tuple[str, list]:
    """A statement with %(name)s placeholders as one with %s and the values in order."""
    names = re.findall(r"%\((\w+)\)s", sql)
    return re.sub(r"%\(\w+\)s", "%s", sql), [params[name] for name in names]


def upload_chunk_with_events(*, upsert_sql: str, params: dict, city: City, now: datetime) -> int:
    """Run the chunk's snapshot upsert and record the balance events of the persons it changes,
    in one statement: the main query reads the snapshots as they were, the upsert answers the
    new ones."""
    upsert, upsert_params = _positional(upsert_sql, params)
    today = clock.localdate(now)
    before = online_reasons_sql(city_online_state(city, today=today))
    after = online_reasons_sql(
        city_online_state(
            city,
            today=today,
            has_snapshot="TRUE",
            snapshot_balance="up.balance",
            snapshot_credited="up.credited",
        )
    )
    return event_record_many(
        type=EventType.PERSON_BALANCE_CHANGED,
        now=now,
        with_sql=f"up AS ({upsert} RETURNING person_id, balance, credited)",
        with_params=upsert_params,
        select_sql=balance_events_sql(
            before={"ONLINE": before},
            after={"ONLINE": after},
            cause="upload",
            from_sql=f"FROM up JOIN {PERSON} p ON p.id = up.person_id",
        ),
    )


def upload_completed_record(upload: CityUpload) -> None:
    event_record(
        type=EventType.UPLOAD_COMPLETED,
        now=upload.as_of,
        object_type="upload",
        object_id=upload.pk,
        data={
            "trigger": upload.trigger,
            "as_of": clock.as_iso(upload.as_of),
            "items_done": upload.items_done,
        },
        city_id=upload.city_id,
    )


def first_creditings_event_record(*, transfer_id: int, city: City, now: datetime) -> int:
    """person.balance.changed for the accounts a crediting transfer credited for the first time
    (no crediting of theirs outside it) whose answer on some channel that changes: before, the
    account held its balance less what the transfer credited and had never been credited."""
    today = clock.localdate(now)
    before = channel_reasons_sql(
        city_online_state(
            city,
            today=today,
            account_balance="(acct.balance - k.credited)",
            account_credited="FALSE",
        )
    )
    after = channel_reasons_sql(
        city_online_state(
            city, today=today, account_balance="acct.balance", account_credited="TRUE"
        )
    )
    return event_record_many(
        type=EventType.PERSON_BALANCE_CHANGED,
        now=now,
        select_sql=balance_events_sql(
            before=before,
            after=after,
            cause="crediting_run",
            from_sql=f"""
              FROM (SELECT account_id, SUM(amount) AS credited, COUNT(*) AS credits
                      FROM {CREDITING} WHERE transfer_id = %s GROUP BY account_id) k
              JOIN {ACCOUNT} credited_account ON credited_account.id = k.account_id
              JOIN {PERSON} p ON p.id = credited_account.person_id""",
            # Probed per account in the (account, period) index, never a scan of every month.
            where=f"k.credits = (SELECT COUNT(*) FROM {CREDITING} o WHERE o.account_id = k.account_id)",
        ),
        params=[transfer_id],
    )


def creditings_posted_receiver(sender, *, transfer_id: int, city_id: int, now, **kwargs) -> None:
    if events_enabled():
        city = City.objects.get(pk=city_id)
        first_creditings_event_record(transfer_id=transfer_id, city=city, now=now)
