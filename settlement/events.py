"""The events of settlements, cross-city filings and family authorisations (see events), each
recorded in the transaction that makes the change; snapshots are small and carry no money other
than the settlement's own figures."""

from datetime import datetime

from events.models import Event, EventType
from events.services import event_record, event_row
from settlement.models import CrossCityFiling, FamilyAuthorization, Settlement


def _settlement_event_fields(settlement: Settlement, *, now: datetime) -> dict:
    """settlement.created, or settlement.reversed once it is reversed."""
    reversed_ = settlement.status == Settlement.Status.REVERSED
    return {
        "type": EventType.SETTLEMENT_REVERSED if reversed_ else EventType.SETTLEMENT_CREATED,
        "now": now,
        "object_type": "settlement",
        "object_id": settlement.pk,
        "data": {
            "status": settlement.status,
            "visit_type": settlement.visit_type,
            "visit_reference": settlement.visit_reference,
            "total_amount": str(settlement.total_amount),
            "pool_amount": str(settlement.pool_amount),
            "personal_account_amount": str(settlement.personal_account_amount),
            "cash_amount": str(settlement.cash_amount),
        },
        "city_id": settlement.insured_city_id,
        "person_id": settlement.person_id,
        "institution_id": settlement.institution_id,
    }


def settlement_event_record(settlement: Settlement, *, now: datetime) -> None:
    """settlement.created, or settlement.reversed once it is reversed."""
    event_record(**_settlement_event_fields(settlement, now=now))


def settlement_event_row(settlement: Settlement, *, now: datetime) -> Event | None:
    """The event ``settlement_event_record`` records, unsaved, for a settlement written in one
    statement with its event (``events.services.events_written`` after writing it)."""
    return event_row(**_settlement_event_fields(settlement, now=now))


def filing_event_record(filing: CrossCityFiling, *, now: datetime) -> None:
    """filing.created, or filing.revoked once it is revoked."""
    event_record(
        type=EventType.FILING_REVOKED if filing.revoked_at else EventType.FILING_CREATED,
        now=now,
        object_type="filing",
        object_id=filing.pk,
        data={
            "category": filing.category,
            "care_city_id": filing.city_id,
            "valid_from": filing.valid_from.isoformat(),
            "valid_until": filing.valid_until.isoformat(),
            "revoked": filing.revoked_at is not None,
        },
        city_id=filing.person.city_id,
        person_id=filing.person_id,
    )


def family_authorization_event_record(authorization: FamilyAuthorization, *, now: datetime) -> None:
    """family_authorization.granted, or .revoked once it is revoked. The event is the account
    holder's (theirs is the account it lets another draw on)."""
    event_record(
        type=EventType.FAMILY_AUTHORIZATION_REVOKED
        if authorization.revoked_at
        else EventType.FAMILY_AUTHORIZATION_GRANTED,
        now=now,
        object_type="family_authorization",
        object_id=authorization.pk,
        data={
            "beneficiary_id": authorization.beneficiary_id,
            "relation": authorization.relation,
            "revoked": authorization.revoked_at is not None,
        },
        city_id=authorization.account_holder.city_id,
        person_id=authorization.account_holder_id,
    )


def revocation_event_record(record, *, now: datetime) -> None:
    if isinstance(record, CrossCityFiling):
        filing_event_record(record, now=now)
    else:
        family_authorization_event_record(record, now=now)
