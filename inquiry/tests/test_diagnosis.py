"""The diagnosis as a pure function: facts built by hand, no database, cache or clock. Every
reason with each of its variants, and every combination of the states that decide the reasons,
on every channel, against the catalogue's table (SPEC section 3)."""

import itertools
from dataclasses import replace
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from accounts.reasons import ReasonCode
from inquiry.channels import Channel
from inquiry.diagnosis import PlatformBusy, asks_platform, diagnose
from inquiry.facts import AgencyContact, BalanceFacts, CityFacts, PlatformQuota, SnapshotFacts

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 3, 16)  # a Monday
NOW = datetime.combine(TODAY, time(10), tzinfo=SHANGHAI)
UPLOADED_AT = datetime(2026, 3, 1, 2, 0, tzinfo=SHANGHAI)
R = ReasonCode
CATALOGUE = list(ReasonCode)


def city(**changes) -> CityFacts:
    """A launched city that shows accounts online and uploads monthly on the 1st."""
    base = CityFacts(
        name="Hangzhou",
        online_inquiry_launched=True,
        personal_account_shown_online=True,
        has_public_upload_channel=True,
        upload_frequency="MONTHLY",
        upload_day=1,
        contribution_day=10,
        crediting_day=25,
        resident_accounts_abolished_on=None,
        outpatient_pooling_ratio=Decimal("0.5000"),
        outpatient_pooling_annual_quota=Decimal("600.00"),
        latest_upload_as_of=UPLOADED_AT,
    )
    return replace(base, **changes)


def facts(**changes) -> BalanceFacts:
    """An employee with every step done: card and e-voucher active, credited, in the upload."""
    base = BalanceFacts(
        person_id=9,
        is_employee=True,
        is_retired=False,
        enrolled_on=date(2026, 2, 1),
        city=city(),
        evoucher_status="ACTIVATED",
        evoucher_locked_until=None,
        card_status="ACTIVE",
        card_ready_on=date(2026, 2, 3),
        account_balance=Decimal("400.00"),
        snapshot=SnapshotFacts(balance=Decimal("200.00"), as_of=UPLOADED_AT, credited=True),
        has_crediting=True,
        has_contribution=True,
        outpatient_pool_paid=None,
        platform=PlatformQuota(city_id=1, capacity=1000, window_seconds=1, forced_busy=False),
    )
    return replace(base, **changes)


def resident(**changes) -> BalanceFacts:
    return facts(is_employee=False, **changes)


def new_account(**changes) -> BalanceFacts:
    """Enrolled today: 0.00 live and in the upload, never credited."""
    fresh = {
        "enrolled_on": TODAY,
        "account_balance": Decimal("0.00"),
        "snapshot": SnapshotFacts(balance=Decimal("0.00"), as_of=UPLOADED_AT, credited=False),
        "has_crediting": False,
    }
    return facts(**(fresh | changes))


def answer(person: BalanceFacts, channel=Channel.ONLINE, busy: int | None = None):
    return diagnose(
        person,
        channel=channel,
        now=NOW,
        platform_busy=None if busy is None else PlatformBusy(busy),
    )


def codes(diagnosis) -> list[ReasonCode]:
    return [reason.code for reason in diagnosis.reasons]


def only(diagnosis, code):
    assert codes(diagnosis) == [code], codes(diagnosis)
    return diagnosis.reasons[0]


# --- Nothing in the way ----------------------------------------------------------------------


def test_online_shows_the_snapshot():
    diagnosis = answer(facts())
    assert (diagnosis.visible, diagnosis.reasons, diagnosis.retry_after) == (True, [], None)
    assert (diagnosis.amount, diagnosis.as_of, diagnosis.source) == (
        Decimal("200.00"),
        UPLOADED_AT,
        "snapshot",
    )
    assert (diagnosis.person_id, diagnosis.channel) == (9, "ONLINE")


@pytest.mark.parametrize("channel", [Channel.COUNTER, Channel.HOTLINE, Channel.INSTITUTION])
def test_the_other_channels_show_the_live_balance_at_the_time_passed_in(channel):
    diagnosis = answer(facts(), channel)
    assert (diagnosis.visible, diagnosis.reasons) == (True, [])
    assert (diagnosis.amount, diagnosis.as_of, diagnosis.source) == (
        Decimal("400.00"),
        NOW,
        "live",
    )
    assert diagnosis.channel == channel.value


# --- Each reason and its variants ------------------------------------------------------------


def test_city_inquiry_not_launched_gives_the_hotline():
    reason = only(
        answer(facts(city=city(online_inquiry_launched=False))), R.CITY_INQUIRY_NOT_LAUNCHED
    )
    assert "Hangzhou" in reason.detail
    assert "12393" in reason.remedy and "counter" in reason.remedy
    assert reason.extra == {"hotline": "12393"}


HANGZHOU_AGENCY = AgencyContact(
    name="Hangzhou Medical Security Service Centre",
    address="18 Jiefang Road East",
    phone="0571-12393",
)


@pytest.mark.parametrize(
    ("language", "city_name", "agency_name"),
    [
        ("zh-hans", "杭州市", "杭州市医疗保障服务中心"),
        ("en", "Hangzhou", "Hangzhou Medical Security Service Centre"),
    ],
)
def test_names_are_given_in_the_language_of_the_request(language, city_name, agency_name):
    chinese = city(
        name_zh="杭州市",
        agency=replace(HANGZHOU_AGENCY, name_zh="杭州市医疗保障服务中心"),
        online_inquiry_launched=False,
    )
    with translation.override(language):
        reason = only(answer(facts(city=chinese)), R.CITY_INQUIRY_NOT_LAUNCHED)
    assert city_name in reason.detail and agency_name in reason.remedy
    assert reason.extra["agency"]["name"] == agency_name
    other = "Hangzhou" if language == "zh-hans" else "杭州"
    assert other not in reason.detail + reason.remedy
    # A city that kept no Chinese name is named in English whatever the language.
    with translation.override("zh-hans"):
        english_only = only(
            answer(facts(city=city(online_inquiry_launched=False))), R.CITY_INQUIRY_NOT_LAUNCHED
        )
    assert "Hangzhou" in english_only.detail


@pytest.mark.parametrize(
    ("changes", "reason_code", "channel"),
    [
        ({"online_inquiry_launched": False}, R.CITY_INQUIRY_NOT_LAUNCHED, Channel.ONLINE),
        ({"personal_account_shown_online": False}, R.WRONG_CHANNEL, Channel.ONLINE),
        ({"has_public_upload_channel": False}, R.DATA_NOT_UPLOADED, Channel.ONLINE),
    ],
)
def test_remedies_send_people_to_the_citys_own_agency(changes, reason_code, channel):
    with_agency = only(
        answer(facts(city=city(agency=HANGZHOU_AGENCY, **changes)), channel), reason_code
    )
    assert "Hangzhou Medical Security Service Centre (18 Jiefang Road East)" in with_agency.remedy
    assert "0571-12393" in with_agency.remedy
    assert "national" not in with_agency.remedy
    assert with_agency.extra["agency"] == {
        "name": "Hangzhou Medical Security Service Centre",
        "address": "18 Jiefang Road East",
        "phone": "0571-12393",
    }
    assert with_agency.extra["hotline"] == "0571-12393"
    # A city that recorded no agency falls back on the national hotline.
    without = only(answer(facts(city=city(**changes)), channel), reason_code)
    assert "national medical-insurance hotline on 12393" in without.remedy
    assert without.extra["hotline"] == "12393" and "agency" not in without.extra


def test_an_agency_without_a_phone_is_named_and_the_national_hotline_given():
    agency = AgencyContact(name="Nanping Medical Insurance Centre")
    reason = only(
        answer(facts(city=city(online_inquiry_launched=False, agency=agency))),
        R.CITY_INQUIRY_NOT_LAUNCHED,
    )
    assert "counter of Nanping Medical Insurance Centre, or call the national" in reason.remedy
    assert reason.extra["hotline"] == "12393"
    assert reason.extra["agency"] == {"name": agency.name, "address": "", "phone": ""}


def test_activating_a_card_is_at_the_citys_agency():
    reason = only(
        answer(facts(card_status="ISSUED", city=city(agency=HANGZHOU_AGENCY))),
        R.CARD_NOT_ACTIVATED,
    )
    assert reason.remedy.startswith(
        "Activate it at Hangzhou Medical Security Service Centre (18 Jiefang Road East)"
    )
    assert reason.extra["hotline"] == "0571-12393"


@pytest.mark.parametrize(
    ("status", "locked_until", "says"),
    [
        (None, None, "has not been activated"),
        ("NOT_ACTIVATED", None, "has not been activated"),
        ("AGREEMENT_ACCEPTED", None, "face authentication has not been passed"),
        ("AGREEMENT_ACCEPTED", datetime(2026, 3, 16, 10, 30, tzinfo=SHANGHAI), "paused"),
        ("NOT_ACTIVATED", datetime(2026, 3, 16, 10, 30, tzinfo=SHANGHAI), "paused"),
        # A lock that has lifted by the time passed in no longer pauses anything.
        (
            "AGREEMENT_ACCEPTED",
            datetime(2026, 3, 16, 9, 59, tzinfo=SHANGHAI),
            "face authentication",
        ),
    ],
)
def test_evoucher_not_activated_says_how_far_it_got(status, locked_until, says):
    person = facts(evoucher_status=status, evoucher_locked_until=locked_until)
    reason = only(answer(person), R.EVOUCHER_NOT_ACTIVATED)
    assert says in reason.detail
    for where in ("WeChat", "Alipay", "pharmacy"):
        assert where in reason.remedy
    if says == "paused":
        assert "2026-03-16 10:30" in reason.detail


def test_a_lock_is_told_in_simulated_time_in_sandbox_mode(settings):
    settings.SANDBOX_MODE = True
    locked = datetime(2026, 3, 16, 10, 30, tzinfo=SHANGHAI)
    reason = only(
        answer(facts(evoucher_status="AGREEMENT_ACCEPTED", evoucher_locked_until=locked)),
        R.EVOUCHER_NOT_ACTIVATED,
    )
    assert "simulated clock" in reason.detail
    settings.SANDBOX_MODE = False
    reason = only(
        answer(facts(evoucher_status="AGREEMENT_ACCEPTED", evoucher_locked_until=locked)),
        R.EVOUCHER_NOT_ACTIVATED,
    )
    assert "simulated clock" not in reason.detail


def test_wrong_channel_names_the_channels_that_can():
    reason = only(answer(facts(city=city(personal_account_shown_online=False))), R.WRONG_CHANNEL)
    assert reason.extra == {
        "channels": ["INSTITUTION", "COUNTER"],
        "hotline": "12393",
    }
    assert "hospital" in reason.remedy and "counter" in reason.remedy


def test_wrong_channel_explains_the_two_accounts_and_where_the_personal_one_is_shown():
    detail = only(
        answer(facts(city=city(personal_account_shown_online=False))), R.WRONG_CHANNEL
    ).detail
    assert "two accounts" in detail
    assert "personal account" in detail and "pooled (fund) account" in detail
    assert "designated hospitals, designated pharmacies and medical-insurance agencies" in detail


@pytest.mark.parametrize(
    ("paid", "used", "remaining"),
    [
        (None, "0.00", "600.00"),
        (Decimal("150.40"), "150.40", "449.60"),
        (Decimal("600.00"), "600.00", "0.00"),
    ],
)
@pytest.mark.parametrize("channel", list(Channel))
def test_personal_account_abolished_on_every_channel_with_what_pooling_has_left(
    channel, paid, used, remaining
):
    person = resident(
        city=city(resident_accounts_abolished_on=date(2025, 1, 1)),
        account_balance=None,
        snapshot=None,
        outpatient_pool_paid=paid,
    )
    diagnosis = answer(person, channel)
    expected = [R.PERSONAL_ACCOUNT_ABOLISHED]
    if channel == Channel.ONLINE:
        expected.append(R.DATA_NOT_UPLOADED)  # no account, so no snapshot row either
    assert codes(diagnosis) == expected
    assert (diagnosis.visible, diagnosis.amount, diagnosis.source) == (False, None, None)
    reason = diagnosis.reasons[0]
    assert reason.extra == {
        "outpatient_pooling": {
            "ratio": "0.5000",
            "annual_quota": "600.00",
            "used": used,
            "remaining": remaining,
            "currency": "CNY",
        }
    }
    assert "Since 2025-01-01" in reason.detail and "50%" in reason.detail
    assert f"{remaining} CNY remains" in reason.detail


def test_abolition_counts_from_its_date_and_only_for_residents():
    abolished_today = city(resident_accounts_abolished_on=TODAY)
    abolished_tomorrow = city(resident_accounts_abolished_on=date(2026, 3, 17))
    assert codes(answer(resident(city=abolished_today), Channel.COUNTER)) == [
        R.PERSONAL_ACCOUNT_ABOLISHED
    ]
    # A resident's account that still exists hides nonetheless, and awaits no first crediting.
    zero = resident(city=abolished_today, account_balance=Decimal("0.00"), has_crediting=False)
    diagnosis = answer(zero, Channel.COUNTER)
    assert (codes(diagnosis), diagnosis.visible) == ([R.PERSONAL_ACCOUNT_ABOLISHED], False)
    assert answer(resident(city=abolished_tomorrow), Channel.COUNTER).visible is True
    assert answer(facts(city=abolished_today), Channel.COUNTER).visible is True


@pytest.mark.parametrize(
    ("status", "says", "remedy", "expected_date"),
    [
        (None, "no social security card", "Apply", None),
        ("PENDING", "ready on 2026-03-19", "Collect it when it is ready", date(2026, 3, 19)),
        ("READY", "ready for pick-up", "Collect it at the service point", None),
        ("ISSUED", "issued but not activated", "set a PIN", None),
        ("LOST", "reported lost", "replacement", None),
    ],
)
@pytest.mark.parametrize("channel", [Channel.ONLINE, Channel.INSTITUTION])
def test_card_not_activated_explains_each_card_state(channel, status, says, remedy, expected_date):
    person = facts(card_status=status, card_ready_on=date(2026, 3, 19) if status else None)
    reason = only(answer(person, channel), R.CARD_NOT_ACTIVATED)
    assert says in reason.detail
    assert remedy in reason.remedy
    assert reason.expected_date == expected_date


@pytest.mark.parametrize("channel", [Channel.COUNTER, Channel.HOTLINE])
def test_the_counter_and_hotline_do_not_need_the_card(channel):
    assert answer(facts(card_status=None), channel).reasons == []


def test_data_not_uploaded_where_the_city_has_no_public_channel():
    reason = only(answer(facts(city=city(has_public_upload_channel=False))), R.DATA_NOT_UPLOADED)
    assert "no public channel" in reason.detail
    assert reason.expected_date is None


@pytest.mark.parametrize(
    ("upload_city", "says", "expected_date"),
    [
        (city(latest_upload_as_of=None), "has not uploaded", date(2026, 4, 1)),
        (city(), "not in Hangzhou's latest upload (as of 2026-03-01 02:00)", date(2026, 4, 1)),
        # A monthly upload due today that has not run yet is today's.
        (city(upload_day=16), "latest upload", TODAY),
        # Today's daily upload has run: the next is tomorrow's.
        (
            city(
                upload_frequency="DAILY",
                latest_upload_as_of=datetime.combine(TODAY, time(2), tzinfo=SHANGHAI),
            ),
            "latest upload",
            date(2026, 3, 17),
        ),
        (city(upload_frequency="DAILY"), "latest upload", TODAY),
        (city(upload_frequency="WEEKLY", upload_day=3), "latest upload", date(2026, 3, 18)),
    ],
)
def test_data_not_uploaded_says_when_the_next_upload_is_due(upload_city, says, expected_date):
    reason = only(answer(facts(city=upload_city, snapshot=None)), R.DATA_NOT_UPLOADED)
    assert says in reason.detail
    assert reason.expected_date == expected_date
    assert f"due on {expected_date:%Y-%m-%d}" in reason.remedy


def test_platform_busy_carries_the_limiters_wait():
    diagnosis = answer(facts(), busy=7)
    reason = only(diagnosis, R.PLATFORM_BUSY)
    assert (reason.retry_after, diagnosis.retry_after) == (7, 7)
    assert "7 seconds" in reason.remedy and "Hangzhou" in reason.detail
    assert (diagnosis.visible, diagnosis.amount) == (False, None)


def test_platform_busy_says_the_seconds_are_real_in_sandbox_mode(settings):
    settings.SANDBOX_MODE = True
    assert "real seconds" in only(answer(facts(), busy=7), R.PLATFORM_BUSY).remedy
    settings.SANDBOX_MODE = False
    assert "real seconds" not in only(answer(facts(), busy=7), R.PLATFORM_BUSY).remedy


def test_the_platform_is_asked_only_online_in_a_launched_city_and_its_answer_ignored_elsewhere():
    launched, not_launched = facts(), facts(city=city(online_inquiry_launched=False))
    assert asks_platform(launched, Channel.ONLINE) is True
    assert asks_platform(not_launched, Channel.ONLINE) is False
    for channel in (Channel.COUNTER, Channel.HOTLINE, Channel.INSTITUTION):
        assert asks_platform(launched, channel) is False
        assert answer(launched, channel, busy=60).reasons == []
    assert codes(answer(not_launched, busy=60)) == [R.CITY_INQUIRY_NOT_LAUNCHED]


def test_funds_credited_since_the_snapshot_wait_for_the_next_upload():
    person = new_account(account_balance=Decimal("200.00"), has_crediting=True)
    diagnosis = answer(person)
    reason = only(diagnosis, R.FUNDS_NOT_YET_TRANSFERRED)
    assert "credited since" in reason.detail
    assert reason.expected_date == date(2026, 4, 1)
    assert reason.remedy == "Wait for the next upload, due on 2026-04-01."
    assert (diagnosis.visible, diagnosis.amount, diagnosis.source) == (
        True,
        Decimal("0.00"),
        "snapshot",
    )
    # The live channels already show the crediting.
    assert answer(person, Channel.COUNTER).reasons == []


@pytest.mark.parametrize(
    ("person", "says", "expected_date"),
    [
        # An employee whose first contribution has not arrived: contribution on the 10th of
        # April, crediting on the 25th after it.
        (
            new_account(has_contribution=False),
            "no contribution has been received",
            date(2026, 4, 25),
        ),
        # Contributions arrive: the next crediting day.
        (new_account(), "has not yet posted its first crediting", date(2026, 3, 25)),
        # A retiree needs no contribution.
        (
            new_account(is_retired=True, has_contribution=False),
            "has not yet posted its first crediting",
            date(2026, 3, 25),
        ),
        # Enrolled after the crediting day: the month after.
        (new_account(enrolled_on=date(2026, 3, 26)), "first crediting", date(2026, 4, 25)),
        # A resident whose year is paid.
        (
            new_account(is_employee=False),
            "has not yet posted its first crediting",
            date(2026, 3, 25),
        ),
        # A resident whose year is not paid: no date can be promised.
        (new_account(is_employee=False, has_contribution=False), "resident contribution", None),
    ],
)
@pytest.mark.parametrize("channel", list(Channel))
def test_funds_not_yet_transferred_says_when(channel, person, says, expected_date):
    diagnosis = answer(person, channel)
    reason = only(diagnosis, R.FUNDS_NOT_YET_TRANSFERRED)
    assert says in reason.detail
    assert reason.expected_date == expected_date
    if expected_date:
        assert f"{expected_date:%Y-%m-%d}" in reason.remedy
    assert (diagnosis.visible, diagnosis.amount) == (True, Decimal("0.00"))
    assert diagnosis.source == ("snapshot" if channel == Channel.ONLINE else "live")


def test_a_snapshot_of_zero_that_was_credited_needs_no_explanation():
    credited_to_zero = SnapshotFacts(balance=Decimal("0.00"), as_of=UPLOADED_AT, credited=True)
    diagnosis = answer(facts(snapshot=credited_to_zero))
    assert (diagnosis.reasons, diagnosis.visible, diagnosis.amount) == ([], True, Decimal("0.00"))


def test_a_person_without_a_personal_account_has_no_balance_to_show():
    diagnosis = answer(facts(account_balance=None), Channel.COUNTER)
    assert (diagnosis.reasons, diagnosis.visible, diagnosis.amount) == ([], False, None)


def test_the_rendering_of_times_and_dates():
    visible = answer(facts(), Channel.COUNTER).as_json()
    assert visible["balance"] == {
        "amount": "400.00",
        "currency": "CNY",
        "as_of": "2026-03-16T10:00:00+08:00",
        "source": "live",
    }
    pending = answer(facts(card_status="PENDING", card_ready_on=date(2026, 3, 19)))
    assert pending.as_json()["reasons"][0]["expected_date"] == "2026-03-19"
    assert pending.as_json()["balance"] is None


def test_the_diagnosis_does_not_change_the_facts():
    person = new_account(card_status=None)
    before = replace(person)
    for channel in Channel:
        answer(person, channel, busy=5)
    assert person == before


# --- Every combination against the catalogue's table -----------------------------------------

STATES = {
    "launched": (True, False),
    "shown_online": (True, False),
    "public_channel": (True, False),
    "evoucher_active": (True, False),
    "card_active": (True, False),
    "in_latest_upload": (True, False),
    "busy": (False, True),
    "abolished_resident": (False, True),
    "never_credited": (False, True),
}
COMBINATIONS = [
    dict(zip(STATES, values, strict=True)) for values in itertools.product(*STATES.values())
]


def built(state) -> BalanceFacts:
    person = new_account() if state["never_credited"] else facts()
    abolished = state["abolished_resident"]
    return replace(
        person,
        is_employee=not abolished and person.is_employee,
        city=city(
            online_inquiry_launched=state["launched"],
            personal_account_shown_online=state["shown_online"],
            has_public_upload_channel=state["public_channel"],
            resident_accounts_abolished_on=date(2025, 1, 1) if abolished else None,
        ),
        evoucher_status="ACTIVATED" if state["evoucher_active"] else "NOT_ACTIVATED",
        card_status="ACTIVE" if state["card_active"] else "ISSUED",
        snapshot=person.snapshot if state["in_latest_upload"] else None,
    )


def expected_codes(state, channel) -> list[ReasonCode]:
    """SPEC section 3's table, read condition by condition."""
    online = channel == Channel.ONLINE
    applies = {
        R.CITY_INQUIRY_NOT_LAUNCHED: online and not state["launched"],
        R.EVOUCHER_NOT_ACTIVATED: online and not state["evoucher_active"],
        R.WRONG_CHANNEL: online and not state["shown_online"],
        R.PERSONAL_ACCOUNT_ABOLISHED: state["abolished_resident"],
        R.CARD_NOT_ACTIVATED: channel in (Channel.ONLINE, Channel.INSTITUTION)
        and not state["card_active"],
        R.DATA_NOT_UPLOADED: online and not (state["public_channel"] and state["in_latest_upload"]),
        R.PLATFORM_BUSY: online and state["launched"] and state["busy"],
        R.FUNDS_NOT_YET_TRANSFERRED: state["never_credited"] and not state["abolished_resident"],
    }
    return [code for code in CATALOGUE if applies[code]]


def _state_id(state) -> str:
    return (
        ",".join(name for name, value in state.items() if value is not STATES[name][0])
        or "all-clear"
    )


@pytest.mark.parametrize("state", COMBINATIONS, ids=_state_id)
def test_every_combination_answers_on_every_channel_as_the_catalogue_says(state):
    for channel in Channel:
        assert_answers_as_the_catalogue_says(state, channel)


def assert_answers_as_the_catalogue_says(state, channel) -> None:
    diagnosis = answer(built(state), channel, busy=60 if state["busy"] else None)
    expected = expected_codes(state, channel)
    assert codes(diagnosis) == expected
    hiding = [code for code in expected if code != R.FUNDS_NOT_YET_TRANSFERRED]
    visible = not hiding and not state["abolished_resident"]
    assert diagnosis.visible is visible
    for reason in diagnosis.reasons:
        assert reason.title and reason.detail and reason.remedy
    assert diagnosis.retry_after == (60 if R.PLATFORM_BUSY in expected else None)
    if visible:
        from_snapshot = channel == Channel.ONLINE
        assert diagnosis.source == ("snapshot" if from_snapshot else "live")
        zero = state["never_credited"]
        assert diagnosis.amount == (
            Decimal("0.00") if zero else Decimal("200.00" if from_snapshot else "400.00")
        )
        assert diagnosis.as_of == (UPLOADED_AT if from_snapshot else NOW)
    else:
        assert (diagnosis.amount, diagnosis.as_of, diagnosis.source) == (None, None, None)


# --- The institution channel answers for the credential presented ------------------------------


def expected_at_a_terminal(state, credential: str) -> list[ReasonCode]:
    """A terminal's answer for the credential presented: an e-voucher must be activated and the
    card does not matter; a card must be active and the e-voucher does not matter."""
    applies = {
        R.EVOUCHER_NOT_ACTIVATED: credential == "EVOUCHER" and not state["evoucher_active"],
        R.PERSONAL_ACCOUNT_ABOLISHED: state["abolished_resident"],
        R.CARD_NOT_ACTIVATED: credential == "CARD" and not state["card_active"],
        R.FUNDS_NOT_YET_TRANSFERRED: state["never_credited"] and not state["abolished_resident"],
    }
    return [code for code in CATALOGUE if applies.get(code)]


@pytest.mark.parametrize("credential", ["CARD", "EVOUCHER"])
@pytest.mark.parametrize("state", COMBINATIONS, ids=_state_id)
def test_a_terminal_answers_for_the_credential_presented(state, credential):
    diagnosis = diagnose(
        built(state),
        channel=Channel.INSTITUTION,
        now=NOW,
        platform_busy=PlatformBusy(60) if state["busy"] else None,
        credential=credential,
    )
    expected = expected_at_a_terminal(state, credential)
    assert codes(diagnosis) == expected
    hidden = state["abolished_resident"] or any(
        code != R.FUNDS_NOT_YET_TRANSFERRED for code in expected
    )
    assert diagnosis.visible is not hidden
    assert diagnosis.source == (None if hidden else "live")


def test_without_a_credential_the_terminal_answers_for_the_card():
    person = facts(card_status="ISSUED", evoucher_status="NOT_ACTIVATED")
    assert codes(answer(person, Channel.INSTITUTION)) == [R.CARD_NOT_ACTIVATED]
    by_card = diagnose(
        person, channel=Channel.INSTITUTION, now=NOW, platform_busy=None, credential="CARD"
    )
    assert by_card == answer(person, Channel.INSTITUTION)


@pytest.mark.parametrize("card_status", [None, "PENDING", "READY", "ISSUED", "LOST"])
def test_an_activated_e_voucher_serves_at_a_terminal_whatever_the_cards_state(card_status):
    person = facts(card_status=card_status)
    by_evoucher = diagnose(
        person, channel=Channel.INSTITUTION, now=NOW, platform_busy=None, credential="EVOUCHER"
    )
    assert (by_evoucher.visible, by_evoucher.reasons) == (True, [])
    assert (by_evoucher.amount, by_evoucher.source) == (Decimal("400.00"), "live")
    # Online, the unactivated card still hides it, as the documents describe.
    assert codes(answer(person)) == [R.CARD_NOT_ACTIVATED]


def test_an_issued_card_presented_at_a_terminal_points_to_the_e_voucher():
    reason = only(
        diagnose(
            facts(card_status="ISSUED"),
            channel=Channel.INSTITUTION,
            now=NOW,
            platform_busy=None,
            credential="CARD",
        ),
        R.CARD_NOT_ACTIVATED,
    )
    assert "card presented" in reason.detail
    assert "e-voucher can be presented instead" in reason.remedy
    online = only(answer(facts(card_status="ISSUED")), R.CARD_NOT_ACTIVATED)
    assert "e-voucher" not in online.remedy
