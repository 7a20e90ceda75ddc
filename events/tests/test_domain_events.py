"""Each domain change records its event, in its own transaction, and person.balance.changed says
what each channel answered before and after, as the diagnosis itself answers."""

from datetime import date, timedelta

import pytest
from django.conf import settings

from accounts.crediting import (
    contribution_collection_execute,
    contribution_collection_open,
    crediting_run_execute,
    crediting_run_open,
)
from accounts.services import contribution_record
from cards.credentials import PresentedCredential
from cards.models import EVoucher, FaceAuthAttempt, SocialSecurityCard
from cards.services import (
    card_activate,
    card_apply,
    card_report_lost,
    evoucher_accept_agreement,
    evoucher_agreement_current,
    evoucher_face_authenticate,
)
from common import clock
from events.models import Event, EventType
from inquiry.answer import balance_every_channel
from inquiry.balance_events import balance_summary
from persons.models import InsuredPerson
from provisioning.switches import city_switches_change
from sandbox.scenarios import PersonSpec, build_person
from sandbox.world import sandbox_city
from settlement.services import (
    family_authorization_grant,
    family_authorization_revoke,
    filing_record,
    filing_revoke,
    settlement_reverse,
)
from settlement.tests.factories import CatalogItemFactory, InstitutionFactory
from settlement.tests.helpers import settle
from tests.support import MONDAY_MORNING, set_clock
from uploads.models import CityUpload
from uploads.services import upload_execute, upload_open
from users.tests.factories import OperatorFactory, TerminalFactory

pytestmark = pytest.mark.django_db

PIN = "246810"


@pytest.fixture
def hangzhou(agreement):
    set_clock(MONDAY_MORNING)
    return sandbox_city("standard")


def _events(event_type, **filters):
    return list(Event.objects.filter(type=event_type, **filters).order_by("id"))


def _answers_now(person_id: int) -> dict:
    """What every channel answers now, as the balance events summarise it."""
    answers = balance_every_channel(person_id=person_id, now=clock.now())
    return {channel.value: balance_summary(answer) for channel, answer in answers.items()}


def test_card_transitions_and_activation_change_the_balance_answer(hangzhou):
    person = build_person(
        PersonSpec(card="NONE", evoucher_activated=False, credited=False, uploaded=False)
    ).person
    before = _answers_now(person.id)
    card = card_apply(
        person=person,
        site=SocialSecurityCard.Site.COUNTY_CENTER,
        insured_resident_id=person.resident_id,
        by=None,
    )
    statuses = [
        (event.data["before"]["status"], event.data["after"]["status"])
        for event in _events(EventType.CARD_STATUS_CHANGED, object_id=str(card.pk))
    ]
    assert statuses == [("PENDING", "READY"), ("READY", "ISSUED")]
    Event.objects.all().delete()

    card_activate(card=card, pin=PIN, by=None)
    (status_event,) = _events(EventType.CARD_STATUS_CHANGED)
    assert status_event.data["after"] == {"status": "ACTIVE"}
    assert (status_event.person_id, status_event.city_id) == (person.id, hangzhou.id)
    (balance_event,) = _events(EventType.PERSON_BALANCE_CHANGED)
    after = _answers_now(person.id)
    channels = balance_event.data["channels"]
    assert balance_event.data["cause"] == "card.activate"
    # The institution channel (a card presented) loses CARD_NOT_ACTIVATED; the online one too.
    assert channels["INSTITUTION"]["before"]["reasons"][0] == "CARD_NOT_ACTIVATED"
    assert "CARD_NOT_ACTIVATED" not in channels["INSTITUTION"]["after"]["reasons"]
    for channel, change in channels.items():
        assert change["after"] == after[channel]
    # Channels whose answer did not change are left out.
    assert set(channels) == {ch for ch in after if after[ch] != before.get(ch)} & set(channels)
    assert "COUNTER" not in channels

    Event.objects.all().delete()
    card_report_lost(card=card, by=None)
    assert _events(EventType.CARD_STATUS_CHANGED)[0].data["after"] == {"status": "LOST"}
    (lost,) = _events(EventType.PERSON_BALANCE_CHANGED)
    assert lost.data["channels"]["INSTITUTION"]["after"]["primary_reason"] == "CARD_NOT_ACTIVATED"


def test_evoucher_activated_and_locked(hangzhou):
    person = build_person(PersonSpec(evoucher_activated=False)).person
    current = evoucher_agreement_current()
    evoucher_accept_agreement(
        person=person, platform=EVoucher.Platform.WECHAT, agreement_version=current.version, by=None
    )
    assert _events(EventType.EVOUCHER_ACTIVATED) == []
    for _ in range(settings.EVOUCHER_FACE_AUTH_MAX_FAILURES):
        evoucher_face_authenticate(
            person=person, outcome=FaceAuthAttempt.Outcome.FACE_MISMATCH, by=None
        )
    (locked,) = _events(EventType.EVOUCHER_LOCKED)
    assert locked.person_id == person.id and locked.data["locked_until"].endswith("+08:00")

    set_clock(MONDAY_MORNING + timedelta(hours=2))
    evoucher_face_authenticate(person=person, outcome=None, by=None)
    (activated,) = _events(EventType.EVOUCHER_ACTIVATED)
    assert activated.data["after"] == {"status": "ACTIVATED"}
    balance = _events(EventType.PERSON_BALANCE_CHANGED)[-1]
    online = balance.data["channels"]["ONLINE"]
    assert "EVOUCHER_NOT_ACTIVATED" in online["before"]["reasons"]
    assert online["after"] == _answers_now(person.id)["ONLINE"]
    assert online["after"]["visible"] is True


def test_contribution_received(hangzhou):
    person = build_person(PersonSpec(credited=False, uploaded=False)).person
    contribution = contribution_record(person=person, period=date(2026, 11, 1))
    (event,) = _events(EventType.CONTRIBUTION_RECEIVED, object_id=str(contribution.pk))
    assert event.person_id == person.id and event.data["period"] == "2026-11-01"


def test_crediting_run_records_postings_completion_and_first_crediting_set_based(hangzhou):
    new = build_person(PersonSpec(new_enrolee=True, credited=False, uploaded=False)).person
    inactive_card = build_person(
        PersonSpec(new_enrolee=True, card="ISSUED", credited=False, uploaded=False)
    ).person
    old = build_person(PersonSpec()).person  # credited last month already
    period = date(2026, 11, 1)
    collection, _ = contribution_collection_open(city=hangzhou, period=period)
    contribution_collection_execute(collection_id=collection.id)
    assert len(_events(EventType.CONTRIBUTION_RECEIVED)) >= 3
    answers_before = {p.id: _answers_now(p.id) for p in (new, inactive_card, old)}
    Event.objects.all().delete()

    run, _ = crediting_run_open(city=hangzhou, period=period)
    crediting_run_execute(run_id=run.id, chunk_size=2)
    posted = [e for e in _events(EventType.CREDITING_POSTED) if e.data["run_id"] == run.id]
    assert {event.person_id for event in posted} >= {new.id, inactive_card.id, old.id}
    (completed,) = _events(EventType.CREDITING_RUN_COMPLETED)
    assert completed.data["credited_count"] == len(posted)

    balance = {event.person_id: event for event in _events(EventType.PERSON_BALANCE_CHANGED)}
    assert old.id not in balance  # not its first crediting: no answer changed
    for person in (new, inactive_card):
        channels = balance[person.id].data["channels"]
        after = _answers_now(person.id)
        assert set(channels) == {
            channel for channel in after if after[channel] != answers_before[person.id][channel]
        }
        for channel, change in channels.items():
            assert change["before"] == answers_before[person.id][channel]
            assert change["after"] == after[channel]

    crediting_run_execute(run_id=run.id)  # a repeat posts and records nothing new
    assert len(_events(EventType.CREDITING_RUN_COMPLETED)) == 1


def test_upload_records_completion_and_changed_online_answers_set_based(hangzhou):
    fresh = build_person(PersonSpec(uploaded=False)).person
    uploaded = build_person(PersonSpec()).person
    before = {p.id: _answers_now(p.id)["ONLINE"] for p in (fresh, uploaded)}
    Event.objects.all().delete()

    upload, _ = upload_open(city=hangzhou, trigger=CityUpload.Trigger.OPERATOR, now=clock.now())
    upload_execute(upload_id=upload.id, chunk_size=1, now=clock.now())

    (completed,) = _events(EventType.UPLOAD_COMPLETED)
    assert completed.object_id == str(upload.id) and completed.city_id == hangzhou.id
    # Every time the API gives is local, with +08:00.
    upload.refresh_from_db()
    assert completed.data["as_of"] == clock.as_iso(upload.as_of)
    assert completed.data["as_of"].endswith("+08:00")
    events = {event.person_id: event for event in _events(EventType.PERSON_BALANCE_CHANGED)}
    assert uploaded.id not in events  # already in an upload: nothing changed
    online = events[fresh.id].data["channels"]["ONLINE"]
    assert "DATA_NOT_UPLOADED" in online["before"]["reasons"]
    assert online == {"before": before[fresh.id], "after": _answers_now(fresh.id)["ONLINE"]}
    assert online["after"]["visible"] is True


@pytest.mark.parametrize(
    ("switches", "reason"),
    [
        ({"online_inquiry_launched": False}, "CITY_INQUIRY_NOT_LAUNCHED"),
        ({"platform_busy_forced": True}, "PLATFORM_BUSY"),
        ({"personal_account_shown_online": False}, "WRONG_CHANNEL"),
        ({"resident_accounts_abolished_on": date(2026, 1, 1)}, "PERSONAL_ACCOUNT_ABOLISHED"),
    ],
)
def test_a_city_switch_records_the_changed_answers_of_its_persons_set_based(
    hangzhou, switches, reason
):
    people = [
        build_person(PersonSpec()).person,
        build_person(PersonSpec(scheme=InsuredPerson.Scheme.RESIDENT)).person,
        build_person(PersonSpec(card="ISSUED", uploaded=False, credited=False)).person,
    ]
    before = {p.id: _answers_now(p.id) for p in people}
    Event.objects.all().delete()

    city_switches_change(city=hangzhou, now=clock.now(), by=None, **switches)

    (switched,) = _events(EventType.CITY_SWITCHES_CHANGED)
    assert set(switched.data["after"]) == set(switches)
    events = {event.person_id: event for event in _events(EventType.PERSON_BALANCE_CHANGED)}
    for person in people:
        after = _answers_now(person.id)
        changed = {ch for ch in after if after[ch] != before[person.id][ch]}
        if not changed:
            assert person.id not in events
            continue
        channels = events[person.id].data["channels"]
        assert set(channels) == changed
        for channel in changed:
            assert channels[channel] == {
                "before": before[person.id][channel],
                "after": after[channel],
            }
        assert any(reason in change["after"]["reasons"] for change in channels.values())
    assert events, "the switch changed nobody's answer"

    Event.objects.all().delete()
    city_switches_change(city=hangzhou, now=clock.now(), by=None, **switches)
    assert not Event.objects.exists()  # changing nothing records nothing


def test_settlements_filings_and_family_authorizations(hangzhou):
    holder = build_person(PersonSpec()).person
    child = build_person(PersonSpec(scheme=InsuredPerson.Scheme.RESIDENT)).person
    hospital = InstitutionFactory(city=hangzhou, level=3)
    terminal = TerminalFactory(institution=hospital)
    CatalogItemFactory(code="EV-A")
    operator = OperatorFactory(cities=[hangzhou])

    settlement = settle(
        institution=hospital,
        person=holder,
        by=terminal,
        items=[("EV-A", "1", "120.00")],
        visit_type="OUTPATIENT",
        credential=PresentedCredential("CARD", holder.cards.get().number, holder.pk),
        use_personal_account=False,
    )
    (created,) = _events(EventType.SETTLEMENT_CREATED)
    assert (created.institution_id, created.person_id) == (hospital.id, holder.id)
    assert created.data["total_amount"] == "120.00"
    settlement_reverse(settlement=settlement, reason="Entered twice", by=operator)
    (reversed_,) = _events(EventType.SETTLEMENT_REVERSED)
    assert reversed_.object_id == str(settlement.pk)

    other = sandbox_city("small_platform")
    filing = filing_record(person=holder, city=other, category="TEMPORARY", by=operator)
    filing_revoke(filing=filing, by=operator)
    assert [e.type for e in Event.objects.filter(object_type="filing").order_by("id")] == [
        EventType.FILING_CREATED,
        EventType.FILING_REVOKED,
    ]

    authorization = family_authorization_grant(
        account_holder=holder, beneficiary=child, relation="CHILD", by=operator
    )
    family_authorization_revoke(authorization=authorization, by=operator)
    granted, revoked = Event.objects.filter(object_type="family_authorization").order_by("id")
    assert (granted.type, revoked.type) == (
        EventType.FAMILY_AUTHORIZATION_GRANTED,
        EventType.FAMILY_AUTHORIZATION_REVOKED,
    )
    assert granted.person_id == holder.id and granted.data["beneficiary_id"] == child.id
