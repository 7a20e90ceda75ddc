"""The events of contributions and creditings (see events): one at a time for a contribution
received over the counter, set-based (one ``INSERT ... SELECT``) inside the monthly jobs' chunks.

A crediting chunk also announces its transfer (``events.signals.creditings_posted``): a first
crediting removes FUNDS_NOT_YET_TRANSFERRED from what some channels answer, and the answer's
other inputs (the uploaded snapshot among them) are known above this floor, where the receiver
records ``person.balance.changed`` set-based (``uploads.events``)."""

# ruff: noqa: S608 (the SQL is built from the models' table names and constants, never input)

from accounts.models import Account, Contribution, Crediting
from common import clock
from events.models import Event, EventType
from events.services import event_record, event_record_many
from events.signals import creditings_posted
from persons.models import InsuredPerson

CONTRIBUTION = Contribution._meta.db_table
CREDITING = Crediting._meta.db_table
ACCOUNT = Account._meta.db_table
PERSON = InsuredPerson._meta.db_table


def _contribution_data(alias: str) -> str:
    return (
        f"jsonb_build_object('kind', {alias}.kind, 'period', {alias}.period, "
        f"'payment_base', {alias}.payment_base::text, 'account_share', {alias}.account_share::text)"
    )


def contribution_event_record(contribution: Contribution, *, city_id: int | None) -> None:
    event_record(
        type=EventType.CONTRIBUTION_RECEIVED,
        now=contribution.received_at,
        object_type="contribution",
        object_id=contribution.pk,
        data={
            "kind": contribution.kind,
            "period": contribution.period.isoformat(),
            "payment_base": str(contribution.payment_base),
            "account_share": str(contribution.account_share),
        },
        city_id=city_id,
        person_id=contribution.person_id,
    )


def contributions_event_record(*, transfer_id: int, city_id: int, now) -> int:
    """contribution.received for every contribution a collection chunk's transfer carries."""
    return event_record_many(
        type=EventType.CONTRIBUTION_RECEIVED,
        now=now,
        select_sql=f"""
            SELECT 'contribution' AS object_type, c.id AS object_id, %s::bigint AS city_id,
                   c.person_id AS person_id, NULL::bigint AS institution_id,
                   {_contribution_data("c")} AS data
              FROM {CONTRIBUTION} c WHERE c.transfer_id = %s ORDER BY c.id
        """,
        params=[city_id, transfer_id],
    )


def creditings_event_record(*, transfer_id: int, city_id: int, now) -> int:
    """crediting.posted for every account a crediting chunk's transfer credits, and
    person.balance.changed for the accounts it credits for the first time."""
    count = event_record_many(
        type=EventType.CREDITING_POSTED,
        now=now,
        select_sql=f"""
            SELECT 'crediting' AS object_type, k.id AS object_id, %s::bigint AS city_id,
                   a.person_id AS person_id, NULL::bigint AS institution_id,
                   jsonb_build_object('account_id', k.account_id, 'period', k.period,
                                      'amount', k.amount::text, 'run_id', k.run_id) AS data
              FROM {CREDITING} k JOIN {ACCOUNT} a ON a.id = k.account_id
             WHERE k.transfer_id = %s ORDER BY k.id
        """,
        params=[city_id, transfer_id],
    )
    creditings_posted.send(sender=Crediting, transfer_id=transfer_id, city_id=city_id, now=now)
    return count


def crediting_run_completed_record(run) -> None:
    """crediting_run.completed when a run's execution finishes; an execution that finds
    nothing more to credit (a repeat) records nothing new."""
    data = {
        "period": run.period.isoformat(),
        "status": run.status,
        "credited_count": run.credited_count,
        "credited_amount": str(run.credited_amount),
    }
    if Event.objects.filter(
        type=EventType.CREDITING_RUN_COMPLETED,
        object_type="crediting_run",
        object_id=str(run.pk),
        data__credited_count=run.credited_count,
    ).exists():
        return
    event_record(
        type=EventType.CREDITING_RUN_COMPLETED,
        now=clock.now(),
        object_type="crediting_run",
        object_id=run.pk,
        data=data,
        city_id=run.city_id,
    )
