"""Every channel's balance answer in SQL, for the set-based ``person.balance.changed`` events of
jobs that change it for many persons at once (a crediting run, an upload, a city's switches).

``channel_reasons_sql`` mirrors ``inquiry.diagnosis`` (the reason codes in the catalogue's order;
``summary_sql`` adds whether the balance shows and the primary reason), with the platform's load
reduced to the city's forced busy switch, as the single-person events have it. Tests hold the two
to the same answers. What a job changes (the city's switches, the snapshot, the account's balance
and whether it was credited) are SQL expressions, so a job asks for the answer before and after
its change in one statement. It lives with the uploads because the online answer reads them.
"""

# ruff: noqa: S608 (the SQL is built from the models' table names and constants, never input)

from dataclasses import dataclass

from accounts.models import Account, Crediting
from cards.models import EVoucher, SocialSecurityCard
from persons.models import InsuredPerson
from uploads.models import BalanceSnapshot

PERSON = InsuredPerson._meta.db_table
ACCOUNT = Account._meta.db_table
CREDITING = Crediting._meta.db_table
EVOUCHER = EVoucher._meta.db_table
CARD = SocialSecurityCard._meta.db_table
SNAPSHOT = BalanceSnapshot._meta.db_table

# The joins every summary reads, for persons aliased ``p``: their e-voucher ``ev``, latest card
# ``card``, personal account ``acct`` (with ``acct_credited``) and snapshot ``snap``.
PERSON_JOINS = f"""
  LEFT JOIN {EVOUCHER} ev ON ev.person_id = p.id
  LEFT JOIN LATERAL (
      SELECT status FROM {CARD} WHERE person_id = p.id ORDER BY id DESC LIMIT 1
  ) card ON TRUE
  LEFT JOIN {ACCOUNT} acct ON acct.person_id = p.id AND acct.kind = 'PERSONAL'
  LEFT JOIN {SNAPSHOT} snap ON snap.person_id = p.id
"""
ACCOUNT_CREDITED = f"EXISTS (SELECT 1 FROM {CREDITING} r WHERE r.account_id = acct.id)"


@dataclass(frozen=True)
class OnlineState:
    """SQL expressions for what the online answer depends on beyond the person's own rows."""

    launched: str
    shown_online: str
    public_channel: str
    forced_busy: str
    # Whether the person's resident account is abolished today.
    abolished: str
    # The snapshot: whether there is one, its balance and whether it was credited.
    has_snapshot: str = "snap.person_id IS NOT NULL"
    snapshot_balance: str = "snap.balance"
    snapshot_credited: str = "snap.credited"
    # The live personal account: its balance and whether it was ever credited.
    account_balance: str = "acct.balance"
    account_credited: str = ACCOUNT_CREDITED


def online_reasons_sql(state: OnlineState) -> str:
    """The online channel's reason codes, a text[] in the catalogue's order."""
    funds = f"""(acct.id IS NOT NULL AND NOT ({state.abolished}) AND CASE
        WHEN {state.has_snapshot} THEN {state.snapshot_balance} = 0 AND NOT {state.snapshot_credited}
        ELSE {state.account_balance} = 0 AND NOT {state.account_credited} END)"""
    checks = [
        (f"NOT ({state.launched})", "CITY_INQUIRY_NOT_LAUNCHED"),
        ("ev.status IS DISTINCT FROM 'ACTIVATED'", "EVOUCHER_NOT_ACTIVATED"),
        (f"NOT ({state.shown_online})", "WRONG_CHANNEL"),
        (state.abolished, "PERSONAL_ACCOUNT_ABOLISHED"),
        ("card.status IS DISTINCT FROM 'ACTIVE'", "CARD_NOT_ACTIVATED"),
        (f"NOT ({state.public_channel}) OR NOT ({state.has_snapshot})", "DATA_NOT_UPLOADED"),
        (f"({state.launched}) AND ({state.forced_busy})", "PLATFORM_BUSY"),
        (funds, "FUNDS_NOT_YET_TRANSFERRED"),
    ]
    cases = ", ".join(f"CASE WHEN {condition} THEN '{code}' END" for condition, code in checks)
    return f"array_remove(ARRAY[{cases}]::text[], NULL)"


def summary_sql(reasons: str) -> str:
    """The summary of ``events.balance`` (jsonb) from a reason array expression, for a row with a
    ``has_account`` column."""
    return f"""jsonb_build_object(
        'visible', has_account
                   AND cardinality(array_remove({reasons}, 'FUNDS_NOT_YET_TRANSFERRED')) = 0,
        'primary_reason', ({reasons})[1],
        'reasons', to_jsonb({reasons}))"""


def live_reasons_sql(state: OnlineState, *, card_presented: bool) -> str:
    """The reason codes of a channel that reads the live ledger (institution with a card
    presented, counter, hotline), a text[] in the catalogue's order."""
    abolished = state.abolished
    funds = (
        f"(acct.id IS NOT NULL AND NOT ({abolished}) AND {state.account_balance} = 0 "
        f"AND NOT {state.account_credited})"
    )
    checks = [(abolished, "PERSONAL_ACCOUNT_ABOLISHED")]
    if card_presented:
        checks.append(("card.status IS DISTINCT FROM 'ACTIVE'", "CARD_NOT_ACTIVATED"))
    checks.append((funds, "FUNDS_NOT_YET_TRANSFERRED"))
    cases = ", ".join(f"CASE WHEN {condition} THEN '{code}' END" for condition, code in checks)
    return f"array_remove(ARRAY[{cases}]::text[], NULL)"


def channel_reasons_sql(state: OnlineState) -> dict[str, str]:
    """Every channel's reason codes (``inquiry.channels.Channel`` values) under ``state``."""
    return {
        "ONLINE": online_reasons_sql(state),
        "INSTITUTION": live_reasons_sql(state, card_presented=True),
        "COUNTER": live_reasons_sql(state, card_presented=False),
        "HOTLINE": live_reasons_sql(state, card_presented=False),
    }


def balance_events_sql(
    *, before: dict[str, str], after: dict[str, str], cause: str, from_sql: str, where: str = "TRUE"
) -> str:
    """A SELECT of ``events.services.event_record_many``: one person.balance.changed per person
    of ``from_sql`` (which names persons ``p``; ``PERSON_JOINS`` follow it) matching ``where``
    whose answer on some channel differs between ``before`` and ``after`` (reason expressions
    by channel), with the summaries before and after of the channels that differ.

    Each row's arrays are computed once (a fenced lateral subquery: PostgreSQL would otherwise
    inline each expression everywhere it is named). The event's data depends only on the arrays
    and whether the person has an account, and a job's persons share a handful of such shapes, so
    the jsonb is built once per shape and looked up: building it per person was most of a
    first crediting's cost."""
    channels = [channel.lower() for channel in after]
    arrays = ", ".join(
        f"{before[channel]} AS before_{name}, {after[channel]} AS after_{name}"
        for channel, name in zip(after, channels, strict=True)
    )
    shape = ["has_account"] + [
        f"{when}_{name}" for name in channels for when in ("before", "after")
    ]
    same_shape = " AND ".join(f"shapes.{column} = r.{column}" for column in shape)
    differs = " OR ".join(f"before_{name} <> after_{name}" for name in channels)
    channel_data = " || ".join(
        f"CASE WHEN before_{name} <> after_{name} THEN jsonb_build_object('{channel}', "
        f"jsonb_build_object('before', {summary_sql(f'before_{name}')}, "
        f"'after', {summary_sql(f'after_{name}')})) "
        "ELSE '{}'::jsonb END"
        for channel, name in zip(after, channels, strict=True)
    )
    return f"""
        WITH changed_rows AS MATERIALIZED (
            SELECT p.id AS person_id, p.city_id, reasons.*
              {from_sql}
              {PERSON_JOINS}
              CROSS JOIN LATERAL (
                  SELECT acct.id IS NOT NULL AS has_account, {arrays} OFFSET 0
              ) reasons
             WHERE ({where}) AND ({differs})
        ), shapes AS MATERIALIZED (
            SELECT {", ".join(shape)},
                   jsonb_build_object('cause', '{cause}', 'exact', true,
                                      'channels', {channel_data}) AS data
              FROM (SELECT DISTINCT {", ".join(shape)} FROM changed_rows) distinct_shapes
        )
        SELECT 'person' AS object_type, r.person_id AS object_id, r.city_id AS city_id,
               r.person_id AS person_id, NULL::bigint AS institution_id,
               (SELECT data FROM shapes WHERE {same_shape}) AS data
          FROM changed_rows r
         ORDER BY r.person_id
    """
