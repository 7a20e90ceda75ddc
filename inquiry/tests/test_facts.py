"""The balance inquiry on the database: for each state a person can be in (built through the real
services), the facts the one SQL statement reads and what the diagnosis makes of them (the exact
reasons, their order, visibility, the amount and where it comes from, per channel); the online
platform's load as the caller asks the limiter; the prepared statement; and the query's fixed
cost in SQL. The diagnosis's every branch and combination is in test_diagnosis, without a
database."""

import json
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer

from accounts.crediting import crediting_run_execute, crediting_run_open
from accounts.models import Account, Transfer
from accounts.reasons import ReasonCode
from accounts.services import Leg, contribution_record, transfer_post
from accounts.tests.support import at, set_clock
from api.accounts.apis import BalanceOutputSerializer
from cards.models import EVoucher, EVoucherAgreement, FaceAuthAttempt, SocialSecurityCard
from cards.services import (
    card_activate,
    card_apply,
    card_collect,
    card_replace,
    card_report_lost,
    cards_mark_ready_due,
    evoucher_accept_agreement,
    evoucher_activate_at_pharmacy,
    evoucher_face_authenticate,
)
from cities.models import City
from cities.services import city_set_switches
from cities.tests.factories import CityFactory
from common import clock
from inquiry.answer import balance_inquire
from inquiry.channels import Channel
from inquiry.facts import balance_facts
from persons.models import InsuredPerson
from persons.services import person_login_create
from persons.tests.factories import PersonFactory, ResidentFactory, RetireeFactory
from sandbox.services import clock_advance
from settlement.models import AnnualUsage
from settlement.tests.factories import PharmacyFactory
from uploads.models import CityUpload
from uploads.services import upload_execute, upload_open
from users.tests.factories import OperatorFactory, TerminalFactory, token_for

pytestmark = pytest.mark.django_db

# The catalogue's order, as the specification's table gives it.
SPEC_ORDER = [
    "CITY_INQUIRY_NOT_LAUNCHED",
    "EVOUCHER_NOT_ACTIVATED",
    "WRONG_CHANNEL",
    "PERSONAL_ACCOUNT_ABOLISHED",
    "CARD_NOT_ACTIVATED",
    "DATA_NOT_UPLOADED",
    "PLATFORM_BUSY",
    "FUNDS_NOT_YET_TRANSFERRED",
]
R = ReasonCode

TODAY = date(2026, 3, 16)  # a Monday
LAST_MONTH = date(2026, 2, 1)
PIN = "258036"
WAGE = Decimal("10000.00")  # 2 % of it, 200.00, reaches the personal account each month


# --- Building states with the real services --------------------------------------------------


@pytest.fixture(autouse=True)
def now():
    return set_clock(at(TODAY, 10))


def agreement_version() -> str:
    """The agreement in force (a transactional test's flush removes the migration's row)."""
    agreement = EVoucherAgreement.objects.filter(effective_from__lte=TODAY).first()
    if agreement is None:
        agreement = EVoucherAgreement.objects.create(
            version="2025.1",
            title="E-voucher user agreement",
            text="...",
            effective_from=date(2020, 1, 1),
        )
    return agreement.version


def activate_card(person, site=SocialSecurityCard.Site.COUNTY_CENTER) -> SocialSecurityCard:
    card = card_apply(person=person, site=site, insured_resident_id=person.resident_id, by=None)
    return card_activate(card=card, pin=PIN, by=None)


def issue_card(person) -> SocialSecurityCard:
    return card_apply(
        person=person,
        site=SocialSecurityCard.Site.COUNTY_CENTER,
        insured_resident_id=person.resident_id,
        by=None,
    )


def activate_evoucher(person) -> EVoucher:
    evoucher_accept_agreement(
        person=person,
        platform=EVoucher.Platform.WECHAT,
        agreement_version=agreement_version(),
        by=None,
    )
    return evoucher_face_authenticate(
        person=person, outcome=FaceAuthAttempt.Outcome.PASS, by=None
    ).evoucher


def credit(person, period: date = LAST_MONTH) -> None:
    """The period's contribution (employees; residents pay the year) and the city's crediting run."""
    if person.is_employee and not person.is_retired:
        contribution_record(person=person, period=period)
    elif not person.is_employee:
        contribution_record(person=person, period=period.replace(month=1))
    run, _ = crediting_run_open(city=person.city, period=period)
    crediting_run_execute(run_id=run.id)


def upload(city) -> CityUpload:
    city.refresh_from_db()
    job, _ = upload_open(city=city, trigger=CityUpload.Trigger.OPERATOR)
    upload_execute(upload_id=job.id)
    return CityUpload.objects.get(pk=job.pk)


def enrol(city=None, *, kind=PersonFactory, **fields) -> InsuredPerson:
    fields.setdefault("enrolled_on", LAST_MONTH)
    if kind is PersonFactory:
        fields.setdefault("declared_wage", WAGE)
    return kind(city=city or CityFactory(), **fields)


def settled(
    city=None,
    *,
    kind=PersonFactory,
    card=True,
    evoucher=True,
    credited=True,
    uploaded=True,
    **fields,
) -> InsuredPerson:
    """A person whose every step is done, except those switched off."""
    person = enrol(city, kind=kind, **fields)
    if card:
        activate_card(person)
    if evoucher:
        activate_evoucher(person)
    if credited:
        credit(person)
    if uploaded and person.city.has_public_upload_channel:
        upload(person.city)
    return person


def diagnose(person, channel=Channel.ONLINE, **kwargs):
    clock.forget_cached_now()
    return balance_inquire(channel=channel, now=clock.now(), person_id=person.pk, **kwargs)


def codes(diagnosis) -> list[str]:
    return [reason.code.value for reason in diagnosis.reasons]


def reason(diagnosis, code):
    return next(r for r in diagnosis.reasons if r.code == code)


def assert_explained(diagnosis) -> None:
    """Every reason has a title, a detail and a remedy; the order is the catalogue's."""
    for item in diagnosis.reasons:
        assert item.title and item.detail and item.remedy, item
    listed = codes(diagnosis)
    assert listed == sorted(listed, key=SPEC_ORDER.index)
    assert len(listed) == len(set(listed))


# --- The balance shown when nothing stands in the way ----------------------------------------


def test_balance_visible_online_from_the_snapshot():
    person = settled()
    upload_row = CityUpload.objects.get(city=person.city)
    diagnosis = diagnose(person)
    assert codes(diagnosis) == []
    assert diagnosis.visible is True
    assert (diagnosis.amount, diagnosis.source) == (Decimal("200.00"), "snapshot")
    assert diagnosis.as_of == upload_row.as_of
    assert diagnosis.retry_after is None


@pytest.mark.parametrize("channel", [Channel.COUNTER, Channel.HOTLINE, Channel.INSTITUTION])
def test_balance_visible_live_on_the_other_channels(channel, now):
    person = settled()
    diagnosis = diagnose(person, channel)
    assert (codes(diagnosis), diagnosis.visible) == ([], True)
    assert (diagnosis.amount, diagnosis.source, diagnosis.as_of) == (Decimal("200.00"), "live", now)


# --- One state per reason code ----------------------------------------------------------------


def test_city_inquiry_not_launched():
    person = settled(CityFactory(not_launched=True))
    diagnosis = diagnose(person)
    assert codes(diagnosis) == ["CITY_INQUIRY_NOT_LAUNCHED"]
    assert (diagnosis.visible, diagnosis.amount, diagnosis.source) == (False, None, None)
    item = reason(diagnosis, R.CITY_INQUIRY_NOT_LAUNCHED)
    assert "12393" in item.remedy and "counter" in item.remedy
    assert item.extra == {"hotline": "12393"}
    assert_explained(diagnosis)
    # The counter reads the live ledger meanwhile, and launching removes the reason.
    assert diagnose(person, Channel.COUNTER).visible is True
    city_set_switches(city=person.city, online_inquiry_launched=True)
    assert (codes(diagnose(person)), diagnose(person).visible) == ([], True)


def test_evoucher_not_activated_and_its_remedy_at_a_pharmacy():
    person = settled(evoucher=False)
    diagnosis = diagnose(person)
    assert codes(diagnosis) == ["EVOUCHER_NOT_ACTIVATED"]
    assert diagnosis.visible is False
    item = reason(diagnosis, R.EVOUCHER_NOT_ACTIVATED)
    for where in ("WeChat", "Alipay", "pharmacy"):
        assert where in item.remedy
    assert_explained(diagnosis)
    # Only the online channel needs the voucher.
    assert diagnose(person, Channel.COUNTER).visible is True
    pharmacy = PharmacyFactory(city=person.city)
    evoucher_activate_at_pharmacy(
        resident_id=person.resident_id,
        name=person.name,
        face_outcome=None,
        institution=pharmacy,
        by=None,
    )
    assert (codes(diagnose(person)), diagnose(person).visible) == ([], True)


def test_evoucher_half_way_or_locked_says_so():
    person = settled(evoucher=False)
    evoucher_accept_agreement(
        person=person,
        platform=EVoucher.Platform.ALIPAY,
        agreement_version=agreement_version(),
        by=None,
    )
    accepted = reason(diagnose(person), R.EVOUCHER_NOT_ACTIVATED)
    assert "face authentication" in accepted.detail
    for _ in range(3):
        evoucher_face_authenticate(
            person=person, outcome=FaceAuthAttempt.Outcome.FACE_MISMATCH, by=None
        )
    locked = reason(diagnose(person), R.EVOUCHER_NOT_ACTIVATED)
    assert "paused" in locked.detail
    assert locked.detail != accepted.detail


def test_wrong_channel():
    person = settled(CityFactory(counter_only=True))
    diagnosis = diagnose(person)
    assert codes(diagnosis) == ["WRONG_CHANNEL"]
    assert diagnosis.visible is False
    item = reason(diagnosis, R.WRONG_CHANNEL)
    assert item.extra["channels"] == [Channel.INSTITUTION.value, Channel.COUNTER.value]
    assert "hospital" in item.remedy and "counter" in item.remedy
    assert_explained(diagnosis)
    for channel in (Channel.COUNTER, Channel.INSTITUTION, Channel.HOTLINE):
        assert (codes(diagnose(person, channel)), diagnose(person, channel).visible) == ([], True)


def test_personal_account_abolished():
    person = settled(CityFactory(abolished=True), kind=ResidentFactory)
    assert not Account.objects.filter(person=person).exists()
    for channel in (Channel.ONLINE, Channel.COUNTER, Channel.INSTITUTION, Channel.HOTLINE):
        diagnosis = diagnose(person, channel)
        assert codes(diagnosis) == ["PERSONAL_ACCOUNT_ABOLISHED"], channel
        assert (diagnosis.visible, diagnosis.amount) == (False, None)
    item = reason(diagnose(person), R.PERSONAL_ACCOUNT_ABOLISHED)
    assert item.extra["outpatient_pooling"] == {
        "ratio": "0.5000",
        "annual_quota": "600.00",
        "used": "0.00",
        "remaining": "600.00",
        "currency": "CNY",
    }
    assert item.remedy
    assert_explained(diagnose(person))


def test_abolished_account_shows_what_outpatient_pooling_has_left_this_year():
    person = settled(CityFactory(abolished=True), kind=ResidentFactory)
    # Usage as settlements keep it: last year's does not count against this year's quota.
    AnnualUsage.objects.create(person=person, year=2025, outpatient_pool_paid=Decimal("590.00"))
    AnnualUsage.objects.create(person=person, year=2026, outpatient_pool_paid=Decimal("150.40"))
    pooling = reason(diagnose(person), R.PERSONAL_ACCOUNT_ABOLISHED).extra["outpatient_pooling"]
    assert (pooling["used"], pooling["remaining"]) == ("150.40", "449.60")


def test_an_abolished_account_never_awaits_a_first_crediting():
    set_clock(at(date(2026, 2, 10)))
    city = CityFactory(resident_accounts_abolished_on=date(2026, 3, 1))
    person = ResidentFactory(city=city, enrolled_on=date(2026, 2, 1))
    activate_card(person)
    assert Account.objects.filter(person=person).exists()
    set_clock(at(TODAY))
    for channel in (Channel.COUNTER, Channel.INSTITUTION):
        assert codes(diagnose(person, channel)) == ["PERSONAL_ACCOUNT_ABOLISHED"]


def test_card_not_activated_online_and_at_institutions_only():
    person = settled(card=False)
    issue_card(person)
    for channel in (Channel.ONLINE, Channel.INSTITUTION):
        diagnosis = diagnose(person, channel)
        assert codes(diagnosis) == ["CARD_NOT_ACTIVATED"], channel
        assert diagnosis.visible is False
        item = reason(diagnosis, R.CARD_NOT_ACTIVATED)
        assert "activate" in item.remedy.lower() and "agency" in item.remedy
        assert_explained(diagnosis)
    for channel in (Channel.COUNTER, Channel.HOTLINE):
        assert (codes(diagnose(person, channel)), diagnose(person, channel).visible) == ([], True)
    card_activate(card=person.cards.get(), pin=PIN, by=None)
    assert (codes(diagnose(person)), diagnose(person).visible) == ([], True)


def test_card_not_activated_explains_each_card_state():
    person = settled(card=False)
    none = reason(diagnose(person), R.CARD_NOT_ACTIVATED)
    assert "no social security card" in none.detail
    assert "apply" in none.remedy.lower()

    card = card_apply(
        person=person,
        site=SocialSecurityCard.Site.STREET_POINT,
        insured_resident_id=person.resident_id,
        by=None,
        ready_working_day=3,
    )
    pending = reason(diagnose(person), R.CARD_NOT_ACTIVATED)
    assert pending.expected_date == card.ready_on == date(2026, 3, 19)
    assert "2026-03-19" in pending.detail

    set_clock(at(card.ready_on))
    cards_mark_ready_due(today=card.ready_on)
    ready = reason(diagnose(person), R.CARD_NOT_ACTIVATED)
    assert "ready" in ready.detail and "Collect" in ready.remedy

    card = card_collect(card=card, by=None)
    issued = reason(diagnose(person), R.CARD_NOT_ACTIVATED)
    assert "issued but not activated" in issued.detail

    card = card_activate(card=card, pin=PIN, by=None)
    assert R.CARD_NOT_ACTIVATED not in [r.code for r in diagnose(person).reasons]

    card = card_report_lost(card=card, by=None)
    lost = reason(diagnose(person), R.CARD_NOT_ACTIVATED)
    assert "lost" in lost.detail and "replacement" in lost.remedy
    details = {none.detail, pending.detail, ready.detail, issued.detail, lost.detail}
    assert len(details) == 5

    replacement = card_replace(
        card=card,
        site=SocialSecurityCard.Site.COUNTY_CENTER,
        insured_resident_id=person.resident_id,
        by=None,
    )
    assert "issued but not activated" in reason(diagnose(person), R.CARD_NOT_ACTIVATED).detail
    card_activate(card=replacement, pin=PIN, by=None)
    assert codes(diagnose(person)) == []


def test_data_not_uploaded_where_the_city_has_no_public_channel():
    person = settled(CityFactory(no_channel=True))
    diagnosis = diagnose(person)
    assert codes(diagnosis) == ["DATA_NOT_UPLOADED"]
    assert diagnosis.visible is False
    item = reason(diagnosis, R.DATA_NOT_UPLOADED)
    assert item.expected_date is None  # never, unless the city opens a channel
    assert "no public channel" in item.detail
    assert_explained(diagnosis)
    assert diagnose(person, Channel.COUNTER).visible is True


def test_data_not_uploaded_until_the_person_is_in_an_upload():
    city = CityFactory(daily_uploads=True)
    upload(city)  # this morning's upload, before the person enrolled
    person = settled(city, uploaded=False)
    diagnosis = diagnose(person)
    assert codes(diagnosis) == ["DATA_NOT_UPLOADED"]
    item = reason(diagnosis, R.DATA_NOT_UPLOADED)
    # Today's upload has run, so the next is tomorrow's.
    assert item.expected_date == date(2026, 3, 17)
    assert "2026-03-17" in item.remedy
    upload(city)
    assert (codes(diagnose(person)), diagnose(person).visible) == ([], True)


def test_data_not_uploaded_names_the_next_monthly_upload():
    city = CityFactory(upload_frequency="MONTHLY", upload_day=5)
    person = settled(city, uploaded=False)
    item = reason(diagnose(person), R.DATA_NOT_UPLOADED)
    assert item.expected_date == date(2026, 4, 5)
    assert "not uploaded" in item.detail


def test_platform_busy_from_the_operator_switch():
    person = settled()
    city_set_switches(city=person.city, platform_busy_forced=True)
    diagnosis = diagnose(person)
    assert codes(diagnosis) == ["PLATFORM_BUSY"]
    assert diagnosis.visible is False
    item = reason(diagnosis, R.PLATFORM_BUSY)
    assert item.retry_after == diagnosis.retry_after == 60
    assert "off-peak" in item.remedy
    assert_explained(diagnosis)
    for channel in (Channel.COUNTER, Channel.INSTITUTION, Channel.HOTLINE):
        assert diagnose(person, channel).visible is True
    city_set_switches(city=person.city, platform_busy_forced=False)
    assert diagnose(person).visible is True


def _start_of_a_window(seconds: int = 1) -> None:
    """Wait until just after a window boundary, so a short burst falls in one window."""
    time.sleep(seconds - (time.time() % seconds) + 0.02)


def _room_in_the_window(seconds: int, needed: float = 3.0) -> None:
    """Wait for the next window if the current one ends within ``needed`` seconds."""
    left = seconds - (time.time() % seconds)
    if left < needed:
        time.sleep(left + 0.02)


def test_platform_busy_from_a_real_burst_and_cooling_down_after_the_window():
    person = settled()
    city_set_switches(city=person.city, query_capacity=3, query_window_seconds=1)
    now = clock.now()
    _start_of_a_window()
    burst = [
        balance_inquire(channel=Channel.ONLINE, now=now, person_id=person.pk) for _ in range(5)
    ]
    assert [d.visible for d in burst] == [True, True, True, False, False]
    assert [codes(d) for d in burst[3:]] == [["PLATFORM_BUSY"]] * 2
    assert burst[3].retry_after == 1
    # Looking on (the admin) does not count a query; the live channels never do.
    assert diagnose(person, count_query=False).visible is False
    assert diagnose(person, Channel.COUNTER).visible is True
    time.sleep(1.05)
    assert diagnose(person).visible is True


def test_looking_on_does_not_use_up_the_capacity():
    person = settled()
    city_set_switches(city=person.city, query_capacity=2, query_window_seconds=60)
    _room_in_the_window(60)
    for _ in range(5):
        assert diagnose(person, count_query=False).visible is True
    assert [diagnose(person).visible for _ in range(3)] == [True, True, False]


def test_platform_load_is_per_city():
    busy, calm = settled(), settled()
    city_set_switches(city=busy.city, query_capacity=1, query_window_seconds=60)
    city_set_switches(city=calm.city, query_capacity=1, query_window_seconds=60)
    _room_in_the_window(60)
    assert [diagnose(busy).visible for _ in range(3)] == [True, False, False]
    assert diagnose(calm).visible is True


def test_funds_not_yet_transferred_for_a_new_enrolee():
    person = settled(credited=False, enrolled_on=TODAY)
    diagnosis = diagnose(person)
    assert codes(diagnosis) == ["FUNDS_NOT_YET_TRANSFERRED"]
    # The one reason that comes with the balance visible, at 0.00.
    assert (diagnosis.visible, diagnosis.amount, diagnosis.source) == (
        True,
        Decimal("0.00"),
        "snapshot",
    )
    item = reason(diagnosis, R.FUNDS_NOT_YET_TRANSFERRED)
    # No contribution yet: the first is collected on the city's 10th (2026-04-10), the first
    # crediting follows on its 25th.
    assert item.expected_date == date(2026, 4, 25)
    assert "2026-04-25" in item.remedy
    assert "no contribution" in item.detail
    assert_explained(diagnosis)
    live = diagnose(person, Channel.COUNTER)
    assert codes(live) == ["FUNDS_NOT_YET_TRANSFERRED"]
    assert (live.visible, live.amount, live.source) == (True, Decimal("0.00"), "live")


def test_funds_not_yet_transferred_after_a_contribution_waits_for_the_crediting_day():
    person = settled(credited=False, enrolled_on=TODAY)
    contribution_record(person=person, period=date(2026, 3, 1))
    item = reason(diagnose(person, Channel.COUNTER), R.FUNDS_NOT_YET_TRANSFERRED)
    assert item.expected_date == date(2026, 3, 25)
    assert "no contribution" not in item.detail


def test_funds_not_yet_transferred_for_a_new_retiree():
    person = settled(kind=RetireeFactory, credited=False, enrolled_on=TODAY)
    diagnosis = diagnose(person, Channel.COUNTER)
    assert codes(diagnosis) == ["FUNDS_NOT_YET_TRANSFERRED"]
    assert reason(diagnosis, R.FUNDS_NOT_YET_TRANSFERRED).expected_date == date(2026, 3, 25)
    credit(person, date(2026, 3, 1))
    diagnosis = diagnose(person, Channel.COUNTER)
    assert (codes(diagnosis), diagnosis.amount) == ([], Decimal("85.00"))


def test_funds_credited_since_the_snapshot_show_after_the_next_upload():
    city = CityFactory(upload_frequency="WEEKLY", upload_day=1)  # Mondays; today is one
    person = settled(city, credited=False, enrolled_on=date(2026, 2, 1))
    credit(person)
    online = diagnose(person)
    assert codes(online) == ["FUNDS_NOT_YET_TRANSFERRED"]
    assert (online.visible, online.amount) == (True, Decimal("0.00"))
    item = reason(online, R.FUNDS_NOT_YET_TRANSFERRED)
    assert "next upload" in item.detail
    assert item.expected_date is not None
    assert diagnose(person, Channel.COUNTER).amount == Decimal("200.00")
    upload(city)
    assert (codes(diagnose(person)), diagnose(person).amount) == ([], Decimal("200.00"))


def test_funds_credited_since_the_snapshot_name_the_next_upload_not_todays():
    city = CityFactory(upload_frequency="WEEKLY", upload_day=1)  # Mondays; today is one
    person = settled(city, credited=False, enrolled_on=date(2026, 2, 1))
    credit(person)
    item = reason(diagnose(person), R.FUNDS_NOT_YET_TRANSFERRED)
    # Today's upload has run (before the crediting); the next Monday's is the one to wait for.
    assert item.expected_date == date(2026, 3, 23)


def _first_crediting_promise_kept(person) -> None:
    """Let the simulated clock run the city's schedule up to the expected date: the money has not
    arrived the evening before, and has on the day."""
    expected = reason(diagnose(person, Channel.COUNTER), R.FUNDS_NOT_YET_TRANSFERRED).expected_date
    assert expected is not None and expected > TODAY
    clock_advance(to=at(expected - timedelta(days=1), 23))
    assert codes(diagnose(person, Channel.COUNTER)) == ["FUNDS_NOT_YET_TRANSFERRED"]
    clock_advance(to=at(expected, 23))
    diagnosis = diagnose(person, Channel.COUNTER)
    assert codes(diagnosis) == []
    assert diagnosis.amount > 0


def test_a_new_employees_expected_first_crediting_date_is_kept():
    _first_crediting_promise_kept(enrol(enrolled_on=TODAY))


def test_a_new_retirees_expected_first_crediting_date_is_kept():
    _first_crediting_promise_kept(enrol(kind=RetireeFactory, enrolled_on=TODAY))


def test_a_paid_residents_expected_first_crediting_date_is_kept():
    resident = enrol(kind=ResidentFactory, enrolled_on=TODAY)
    contribution_record(person=resident, period=date(2026, 1, 1))
    _first_crediting_promise_kept(resident)


def test_an_unpaid_resident_is_not_promised_a_crediting_that_will_not_come():
    resident = enrol(kind=ResidentFactory, enrolled_on=TODAY)
    item = reason(diagnose(resident, Channel.COUNTER), R.FUNDS_NOT_YET_TRANSFERRED)
    if item.expected_date is None:
        # No date can be promised before the year is paid; the remedy says so.
        assert "contribution" in item.remedy
    else:
        _first_crediting_promise_kept(resident)


def test_a_zero_balance_after_crediting_is_not_a_missing_crediting():
    person = settled()
    pool = Account.objects.get(city=person.city, kind=Account.Kind.EMPLOYEE_POOL)
    transfer_post(
        kind=Transfer.Kind.SETTLEMENT,
        key="spend-all",
        memo="pharmacy",
        legs=[Leg(person.personal_account.id, Decimal("-200.00")), Leg(pool.id, Decimal("200.00"))],
    )
    diagnosis = diagnose(person, Channel.COUNTER)
    assert (codes(diagnosis), diagnosis.visible, diagnosis.amount) == ([], True, Decimal("0.00"))


# --- Combinations --------------------------------------------------------------------------


def test_brand_new_enrolee():
    """Enrolled today and nothing else: no e-voucher, a card being made, not uploaded, no money."""
    city = CityFactory()
    upload(city)
    person = enrol(city, enrolled_on=TODAY)
    card_apply(
        person=person,
        site=SocialSecurityCard.Site.STREET_POINT,
        insured_resident_id=person.resident_id,
        by=None,
    )
    diagnosis = diagnose(person)
    assert codes(diagnosis) == [
        "EVOUCHER_NOT_ACTIVATED",
        "CARD_NOT_ACTIVATED",
        "DATA_NOT_UPLOADED",
        "FUNDS_NOT_YET_TRANSFERRED",
    ]
    assert (diagnosis.visible, diagnosis.amount) == (False, None)
    assert_explained(diagnosis)
    # At the counter only the missing money remains, and it shows 0.00.
    counter = diagnose(person, Channel.COUNTER)
    assert (codes(counter), counter.visible, counter.amount) == (
        ["FUNDS_NOT_YET_TRANSFERRED"],
        True,
        Decimal("0.00"),
    )


def test_city_not_launched_and_evoucher_not_activated():
    person = settled(CityFactory(not_launched=True), evoucher=False)
    diagnosis = diagnose(person)
    assert codes(diagnosis) == ["CITY_INQUIRY_NOT_LAUNCHED", "EVOUCHER_NOT_ACTIVATED"]
    assert diagnosis.visible is False
    assert_explained(diagnosis)


def test_new_retiree_in_a_city_that_shows_accounts_only_at_counters():
    person = settled(
        CityFactory(counter_only=True), kind=RetireeFactory, credited=False, enrolled_on=TODAY
    )
    diagnosis = diagnose(person)
    assert codes(diagnosis) == ["WRONG_CHANNEL", "FUNDS_NOT_YET_TRANSFERRED"]
    # A hiding reason wins over the 0.00 of the last one.
    assert (diagnosis.visible, diagnosis.amount) == (False, None)
    assert_explained(diagnosis)


def test_new_resident_where_accounts_are_abolished_without_a_card():
    city = CityFactory(abolished=True)
    upload(city)
    person = enrol(city, kind=ResidentFactory, enrolled_on=TODAY)
    diagnosis = diagnose(person)
    assert codes(diagnosis) == [
        "EVOUCHER_NOT_ACTIVATED",
        "PERSONAL_ACCOUNT_ABOLISHED",
        "CARD_NOT_ACTIVATED",
        "DATA_NOT_UPLOADED",
    ]
    assert_explained(diagnosis)


def test_every_hiding_reason_at_once_in_a_launched_city():
    city = CityFactory(counter_only=True, no_channel=True, busy=True)
    person = enrol(city, enrolled_on=TODAY)
    issue_card(person)
    diagnosis = diagnose(person)
    assert codes(diagnosis) == [
        "EVOUCHER_NOT_ACTIVATED",
        "WRONG_CHANNEL",
        "CARD_NOT_ACTIVATED",
        "DATA_NOT_UPLOADED",
        "PLATFORM_BUSY",
        "FUNDS_NOT_YET_TRANSFERRED",
    ]
    assert diagnosis.retry_after == 60
    assert_explained(diagnosis)
    assert codes(diagnose(person, Channel.INSTITUTION)) == [
        "CARD_NOT_ACTIVATED",
        "FUNDS_NOT_YET_TRANSFERRED",
    ]


def test_every_hiding_reason_at_once_in_a_city_not_launched():
    city = CityFactory(not_launched=True, counter_only=True, no_channel=True, busy=True)
    person = enrol(city, enrolled_on=TODAY)
    diagnosis = diagnose(person)
    # An unlaunched city's platform is never asked, so it is never busy.
    assert codes(diagnosis) == [
        "CITY_INQUIRY_NOT_LAUNCHED",
        "EVOUCHER_NOT_ACTIVATED",
        "WRONG_CHANNEL",
        "CARD_NOT_ACTIVATED",
        "DATA_NOT_UPLOADED",
        "FUNDS_NOT_YET_TRANSFERRED",
    ]
    assert_explained(diagnosis)


@pytest.mark.parametrize(
    "switches",
    [
        {"not_launched": True},
        {"counter_only": True},
        {"no_channel": True},
        {"busy": True},
        {"not_launched": True, "no_channel": True},
        {"counter_only": True, "busy": True},
    ],
)
@pytest.mark.parametrize("with_card", [False, True])
@pytest.mark.parametrize("with_evoucher", [False, True])
def test_reasons_always_come_in_the_catalogues_order(switches, with_card, with_evoucher):
    person = settled(
        CityFactory(**switches), card=with_card, evoucher=with_evoucher, credited=False
    )
    for channel in Channel:
        diagnosis = diagnose(person, channel)
        assert_explained(diagnosis)
        hiding = [c for c in codes(diagnosis) if c != "FUNDS_NOT_YET_TRANSFERRED"]
        assert diagnosis.visible is (not hiding)


# --- Channels ----------------------------------------------------------------------------


def test_online_reads_the_snapshot_and_the_others_the_live_ledger(now):
    person = settled()
    upload_row = CityUpload.objects.get(city=person.city)
    credit(person, date(2026, 3, 1))  # March: another 200.00, after the upload
    online = diagnose(person)
    assert (online.amount, online.source, online.as_of) == (
        Decimal("200.00"),
        "snapshot",
        upload_row.as_of,
    )
    for channel in (Channel.COUNTER, Channel.HOTLINE, Channel.INSTITUTION):
        live = diagnose(person, channel)
        assert (live.amount, live.source, live.as_of) == (Decimal("400.00"), "live", now)
    upload(person.city)
    assert diagnose(person).amount == Decimal("400.00")


def test_the_institution_channel_ignores_the_online_platform():
    city = CityFactory(not_launched=True, counter_only=True, no_channel=True, busy=True)
    person = settled(city, evoucher=False)
    diagnosis = diagnose(person, Channel.INSTITUTION)
    assert (codes(diagnosis), diagnosis.visible, diagnosis.amount) == ([], True, Decimal("200.00"))


# --- Through the API -----------------------------------------------------------------------


def login(api_client, person):
    user = person_login_create(person=person, username=f"user-{person.id}", password=None)
    api_client.credentials(HTTP_AUTHORIZATION=token_for(user))
    return user


def test_my_balance_through_the_api(api_client):
    person = settled()
    login(api_client, person)
    response = api_client.get("/api/v1/me/balance")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["visible"] is True
    assert body["channel"] == "ONLINE"
    assert body["reasons"] == []
    assert body["balance"]["amount"] == "200.00"
    assert body["balance"]["currency"] == "CNY"
    assert body["balance"]["source"] == "snapshot"
    assert body["balance"]["as_of"]
    assert "Retry-After" not in response


def test_funds_not_yet_transferred_through_the_api(api_client):
    person = settled(credited=False, enrolled_on=TODAY)
    login(api_client, person)
    body = api_client.get("/api/v1/me/balance").json()
    assert body["visible"] is True
    assert body["balance"]["amount"] == "0.00"
    assert [r["code"] for r in body["reasons"]] == ["FUNDS_NOT_YET_TRANSFERRED"]
    assert body["reasons"][0]["expected_date"] == "2026-04-25"
    for key in ("title", "detail", "remedy"):
        assert body["reasons"][0][key]


def test_platform_busy_through_the_api_carries_retry_after(api_client):
    person = settled()
    login(api_client, person)
    city_set_switches(city=person.city, platform_busy_forced=True)
    response = api_client.get("/api/v1/me/balance")
    assert response.status_code == 200
    assert response["Retry-After"] == "60"
    body = response.json()
    assert (body["visible"], body["balance"]) == (False, None)
    assert [r["code"] for r in body["reasons"]] == ["PLATFORM_BUSY"]
    assert body["reasons"][0]["retry_after"] == 60


def test_a_real_burst_through_the_api(api_client):
    person = settled()
    login(api_client, person)
    city_set_switches(city=person.city, query_capacity=2, query_window_seconds=1)
    _start_of_a_window()
    responses = [api_client.get("/api/v1/me/balance") for _ in range(3)]
    assert [r.json()["visible"] for r in responses] == [True, True, False]
    assert "Retry-After" not in responses[1]
    assert responses[2]["Retry-After"] == "1"
    time.sleep(1.05)
    after = api_client.get("/api/v1/me/balance")
    assert (after.json()["visible"], after.has_header("Retry-After")) == (True, False)


ONE_STATE_PER_CODE = {
    "CITY_INQUIRY_NOT_LAUNCHED": lambda: settled(CityFactory(not_launched=True)),
    "EVOUCHER_NOT_ACTIVATED": lambda: settled(evoucher=False),
    "WRONG_CHANNEL": lambda: settled(CityFactory(counter_only=True)),
    "PERSONAL_ACCOUNT_ABOLISHED": lambda: settled(
        CityFactory(abolished=True), kind=ResidentFactory
    ),
    "CARD_NOT_ACTIVATED": lambda: settled(card=False),
    "DATA_NOT_UPLOADED": lambda: settled(CityFactory(no_channel=True)),
    "PLATFORM_BUSY": lambda: settled(CityFactory(busy=True)),
    "FUNDS_NOT_YET_TRANSFERRED": lambda: settled(credited=False, enrolled_on=TODAY),
}


def test_the_states_below_cover_the_whole_catalogue():
    assert list(ONE_STATE_PER_CODE) == SPEC_ORDER == [code.value for code in ReasonCode]


@pytest.mark.parametrize("code", SPEC_ORDER)
def test_each_code_through_the_api_with_its_remedy(api_client, code):
    person = ONE_STATE_PER_CODE[code]()
    login(api_client, person)
    response = api_client.get("/api/v1/me/balance")
    assert response.status_code == 200, response.content
    body = response.json()
    assert [r["code"] for r in body["reasons"]] == [code]
    item = body["reasons"][0]
    for key in ("title", "detail", "remedy"):
        assert isinstance(item[key], str) and len(item[key]) > 10, (key, item)
    if code == "FUNDS_NOT_YET_TRANSFERRED":
        assert body["visible"] is True
        assert body["balance"]["amount"] == "0.00"
        assert item["expected_date"]
    else:
        assert (body["visible"], body["balance"]) == (False, None)
    assert response.has_header("Retry-After") is (code == "PLATFORM_BUSY")


@pytest.mark.parametrize("code", ["BALANCE_VISIBLE", *SPEC_ORDER])
@pytest.mark.parametrize("channel", [Channel.ONLINE, Channel.COUNTER])
def test_the_fast_rendering_is_what_the_documented_serializer_renders(code, channel):
    person = settled() if code == "BALANCE_VISIBLE" else ONE_STATE_PER_CODE[code]()
    diagnosis = diagnose(person, channel, count_query=False)
    documented = BalanceOutputSerializer(diagnosis.as_dict()).data
    rendered = JSONRenderer().render
    assert json.loads(rendered(diagnosis.as_json())) == json.loads(rendered(documented))


def test_a_persons_balance_at_the_counter_and_the_hotline(api_client, now):
    person = settled(CityFactory(counter_only=True))
    operator = OperatorFactory(cities=[person.city])
    api_client.credentials(HTTP_AUTHORIZATION=token_for(operator))
    body = api_client.get(f"/api/v1/persons/{person.id}/balance").json()
    assert (body["channel"], body["visible"], body["reasons"]) == ("COUNTER", True, [])
    assert (body["balance"]["amount"], body["balance"]["source"]) == ("200.00", "live")
    hotline = api_client.get(f"/api/v1/persons/{person.id}/balance?channel=HOTLINE").json()
    assert (hotline["channel"], hotline["visible"]) == ("HOTLINE", True)
    # Another city's operator does not see the person at all.
    stranger = OperatorFactory(cities=[CityFactory()])
    api_client.credentials(HTTP_AUTHORIZATION=token_for(stranger))
    assert api_client.get(f"/api/v1/persons/{person.id}/balance").status_code == 404


def test_a_persons_balance_at_a_designated_institution(api_client):
    person = settled(card=False)
    card = issue_card(person)
    terminal = TerminalFactory(institution__city=person.city)
    api_client.credentials(HTTP_AUTHORIZATION=token_for(terminal))
    response = api_client.get(
        f"/api/v1/persons/{person.id}/balance", HTTP_X_PRESENTED_CREDENTIAL=f"CARD {card.number}"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["channel"], body["visible"]) == ("INSTITUTION", False)
    assert [r["code"] for r in body["reasons"]] == ["CARD_NOT_ACTIVATED"]


# --- The cost of a balance query ---------------------------------------------------------------


def rich_history() -> InsuredPerson:
    """A person with a year of contributions and creditings, lost and replaced cards, spending
    and annual usage."""
    city = CityFactory()
    person = enrol(city, enrolled_on=date(2025, 3, 1))
    activate_evoucher(person)
    card = activate_card(person)
    for _ in range(3):
        card = card_report_lost(card=card, by=None)
        card = card_replace(
            card=card,
            site=SocialSecurityCard.Site.COUNTY_CENTER,
            insured_resident_id=person.resident_id,
            by=None,
        )
        card = card_activate(card=card, pin=PIN, by=None)
    for month in range(12):
        period = (date(2025, 3, 1) + timedelta(days=31 * month)).replace(day=1)
        credit(person, period)
    pool = Account.objects.get(city=city, kind=Account.Kind.EMPLOYEE_POOL)
    for index in range(10):
        transfer_post(
            kind=Transfer.Kind.SETTLEMENT,
            key=f"spend-{index}",
            memo="pharmacy",
            legs=[
                Leg(person.personal_account.id, Decimal("-12.34")),
                Leg(pool.id, Decimal("12.34")),
            ],
        )
    AnnualUsage.objects.create(person=person, year=2026, outpatient_pool_paid=Decimal("10.00"))
    upload(city)
    assert person.cards.count() == 4
    assert person.contributions.count() == 12
    return person


def measured(person, channel) -> int:
    clock.now()  # the simulated time is read once and cached, for both persons alike
    with CaptureQueriesContext(connection) as captured:
        diagnose_once(person, channel)
    return len(captured.captured_queries)


def diagnose_once(person, channel):
    return balance_inquire(channel=channel, now=clock.now(), person_id=person.pk)


@pytest.mark.parametrize("channel", list(Channel))
def test_a_balance_query_costs_one_sql_query_whatever_the_history(
    channel, django_assert_num_queries
):
    fresh = enrol(CityFactory(), enrolled_on=TODAY)
    rich = rich_history()
    assert diagnose_once(rich, Channel.COUNTER).amount == Decimal(
        "2276.60"
    )  # 12 x 200 - 10 x 12.34
    clock.now()
    with django_assert_num_queries(1):
        diagnose_once(fresh, channel)
    with django_assert_num_queries(1):
        diagnose_once(rich, channel)
    assert measured(fresh, channel) == measured(rich, channel)


def test_the_balance_endpoint_costs_the_same_whatever_the_history(
    api_client, django_assert_max_num_queries
):
    fresh = enrol(CityFactory(), enrolled_on=TODAY)
    rich = rich_history()
    counts = []
    for person in (fresh, rich):
        login(api_client, person)
        clock.now()
        # Authentication and the one query of the balance itself.
        with django_assert_max_num_queries(3) as captured:
            response = api_client.get("/api/v1/me/balance")
        assert response.status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


def test_the_prepared_balance_query_answers_as_the_visible_set_query_does():
    """An insured person's own query runs as a prepared statement; an operator's through the ORM
    with a visible set. Both build the same person, again and again on the same connection, after
    a failed statement has been rolled back."""
    person = settled()
    login_user = person_login_create(person=person, username=f"user-{person.id}", password=None)
    visible = InsuredPerson.objects.filter(city=person.city)
    now = clock.now()
    expected = balance_inquire(
        channel=Channel.COUNTER, now=now, person_id=person.pk, visible=visible
    )
    for attempt in range(7):  # past any automatic preparing threshold
        if attempt == 3:
            with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT 1 / 0")
        got = balance_inquire(channel=Channel.COUNTER, now=now, user_id=login_user.pk)
        assert got == expected
    with pytest.raises(InsuredPerson.DoesNotExist):
        balance_facts(year=2026, user_id=login_user.pk + 10_000)


# --- The facts as the one statement reads them -----------------------------------------------


def test_the_facts_of_a_rich_history():
    """The latest of several cards, this year's outpatient-pooling use only, and the person's
    city, upload, e-voucher, account and snapshot, as the rows hold them."""
    person = rich_history()
    city = person.city
    city.refresh_from_db()
    facts = balance_facts(year=2026, person_id=person.pk)
    assert (facts.person_id, facts.is_employee, facts.is_retired) == (person.pk, True, False)
    assert facts.enrolled_on == date(2025, 3, 1)
    assert (facts.card_status, facts.evoucher_status) == ("ACTIVE", "ACTIVATED")
    assert (facts.has_contribution, facts.has_crediting) == (True, True)
    assert facts.account_balance == Decimal("2276.60")
    assert facts.snapshot is not None
    assert (facts.snapshot.balance, facts.snapshot.credited) == (Decimal("2276.60"), True)
    assert facts.city.latest_upload_as_of == city.latest_upload.as_of == facts.snapshot.as_of
    assert facts.outpatient_pool_paid == Decimal("10.00")
    assert balance_facts(year=2025, person_id=person.pk).outpatient_pool_paid is None
    assert facts.city.name == city.name
    City.objects.filter(pk=city.pk).update(
        name_zh="杭州市", agency_name_zh="杭州市医疗保障服务中心", agency_address_zh="解放东路18号"
    )
    chinese = balance_facts(year=2026, person_id=person.pk).city
    assert (chinese.name_zh, chinese.agency.name_zh) == ("杭州市", "杭州市医疗保障服务中心")
    assert chinese.agency.address_zh == "解放东路18号"
    assert facts.city.outpatient_pooling_ratio == city.outpatient_pooling_ratio
    assert (facts.platform.city_id, facts.platform.capacity) == (city.id, city.query_capacity)


def test_the_facts_of_a_person_with_nothing_yet():
    person = enrol(CityFactory(), kind=ResidentFactory, enrolled_on=TODAY)
    facts = balance_facts(year=2026, person_id=person.pk)
    assert (facts.is_employee, facts.card_status, facts.card_ready_on) == (False, None, None)
    assert (facts.snapshot, facts.city.latest_upload_as_of) == (None, None)
    assert (facts.has_contribution, facts.has_crediting) == (False, False)
    assert facts.account_balance == Decimal("0.00")
    assert facts.evoucher_status == EVoucher.Status.NOT_ACTIVATED


def test_a_person_outside_the_visible_set_is_not_found():
    person = settled()
    elsewhere = InsuredPerson.objects.filter(city=CityFactory())
    for visible in (elsewhere, InsuredPerson.objects.none()):
        with pytest.raises(InsuredPerson.DoesNotExist):
            balance_facts(year=2026, person_id=person.pk, visible=visible)
    found = balance_facts(
        year=2026, person_id=person.pk, visible=InsuredPerson.objects.filter(city=person.city)
    )
    assert found == balance_facts(year=2026, person_id=person.pk)


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        return [row[0] for row in cursor.fetchall()]


def test_a_login_query_is_one_prepared_statement_and_nothing_else_is_prepared():
    """However many persons ask, their queries share one prepared statement of the connection;
    Django's own queries, however often they repeat, are never prepared."""
    logins = [
        person_login_create(person=settled(), username=f"user-{index}", password=None)
        for index in range(3)
    ]
    for _ in range(6):  # past psycopg's default automatic preparing threshold
        for login_user in logins:
            assert balance_facts(year=2026, user_id=login_user.pk).person_id
            assert InsuredPerson.objects.filter(user_id=login_user.pk).exists()
    prepared = _prepared_statements()
    assert len([s for s in prepared if s.endswith("WHERE p.user_id = $2")]) == 1, prepared
    assert all("FROM persons_insuredperson p" in statement for statement in prepared), prepared
