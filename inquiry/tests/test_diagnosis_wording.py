"""What each reason and notice says to the person, word for word, for every variant: the detail,
the remedy, the dates and the contact data. The diagnosis decides which reasons apply (see
test_diagnosis.py); these tests hold what the person reads, so a changed or lost word, a wrong
date, a wrong agency or a singular for a plural is caught. No database."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inquiry.channels import Channel
from inquiry.diagnosis import diagnose
from inquiry.notices import EmployerPaymentFacts, employer_notices
from inquiry.tests.test_diagnosis import (
    HANGZHOU_AGENCY,
    NOW,
    TODAY,
    UPLOADED_AT,
    answer,
    city,
    facts,
    new_account,
    resident,
)

ABOLISHED_ON = date(2025, 1, 1)


def _on(channel, credential=None):
    def diagnosis_of(person):
        return diagnose(person, channel=channel, now=NOW, platform_busy=None, credential=credential)

    return diagnosis_of


online, counter = _on(Channel.ONLINE), _on(Channel.COUNTER)
at_terminal_with_card = _on(Channel.INSTITUTION, "CARD")

SCENARIOS = {
    "city inquiry not launched": lambda: online(facts(city=city(online_inquiry_launched=False))),
    "city inquiry not launched, the agency recorded": lambda: online(
        facts(city=city(online_inquiry_launched=False, agency=HANGZHOU_AGENCY))
    ),
    "e-voucher never activated": lambda: online(facts(evoucher_status="NOT_ACTIVATED")),
    "e-voucher agreement accepted": lambda: online(facts(evoucher_status="AGREEMENT_ACCEPTED")),
    "e-voucher locked after failed face checks": lambda: online(
        facts(evoucher_status="AGREEMENT_ACCEPTED", evoucher_locked_until=NOW + timedelta(hours=1))
    ),
    "e-voucher lock ending this very moment": lambda: online(
        facts(evoucher_status="AGREEMENT_ACCEPTED", evoucher_locked_until=NOW)
    ),
    "wrong channel": lambda: online(facts(city=city(personal_account_shown_online=False))),
    "wrong channel, the agency recorded": lambda: online(
        facts(city=city(personal_account_shown_online=False, agency=HANGZHOU_AGENCY))
    ),
    "resident account abolished": lambda: counter(
        resident(
            city=city(resident_accounts_abolished_on=ABOLISHED_ON),
            outpatient_pool_paid=Decimal("125.50"),
        )
    ),
    "resident account abolished, pooling pays all": lambda: counter(
        resident(
            city=city(
                resident_accounts_abolished_on=ABOLISHED_ON,
                outpatient_pooling_ratio=Decimal("1.0000"),
            )
        )
    ),
    "no card yet": lambda: online(facts(card_status=None)),
    "card being made": lambda: online(
        facts(card_status="PENDING", card_ready_on=date(2026, 3, 19))
    ),
    "card ready for pick-up": lambda: online(facts(card_status="READY")),
    "card lost": lambda: online(facts(card_status="LOST")),
    "card issued, not activated": lambda: online(
        facts(card_status="ISSUED", city=city(agency=HANGZHOU_AGENCY))
    ),
    "card presented, issued, not activated": lambda: at_terminal_with_card(
        facts(card_status="ISSUED")
    ),
    "card presented, being made": lambda: at_terminal_with_card(
        facts(card_status="PENDING", card_ready_on=date(2026, 3, 19))
    ),
    "no public upload channel": lambda: online(facts(city=city(has_public_upload_channel=False))),
    "city never uploaded": lambda: online(
        facts(snapshot=None, city=city(latest_upload_as_of=None))
    ),
    "person not in the latest upload": lambda: online(facts(snapshot=None)),
    "platform busy": lambda: answer(facts(), busy=45),
    "credited since the upload": lambda: online(
        new_account(has_crediting=True, account_balance=Decimal("30.00"))
    ),
    "credited since the upload, no upload to come": lambda: online(
        new_account(has_crediting=True, city=city(has_public_upload_channel=False))
    ),
    "resident whose year is unpaid": lambda: counter(
        resident(
            has_contribution=False,
            has_crediting=False,
            account_balance=Decimal("0.00"),
            enrolled_on=TODAY,
        )
    ),
    "employee awaiting the first contribution": lambda: counter(
        new_account(has_contribution=False)
    ),
    "employee awaiting the first crediting": lambda: counter(new_account()),
}

# Generated once from the catalogue's wording, then read and checked by hand.
EXPECTED: dict = {
    "city inquiry not launched": [
        {
            "code": "CITY_INQUIRY_NOT_LAUNCHED",
            "title": "Your city has not launched online inquiry",
            "detail": "Hangzhou has not launched online e-insurance inquiry, so the e-voucher platforms cannot show your balance.",
            "remedy": "Bring your social security card to the counter of the local medical-insurance agency, or call the national medical-insurance hotline on 12393 to check it.",
            "retry_after": None,
            "expected_date": None,
            "hotline": "12393",
        }
    ],
    "city inquiry not launched, the agency recorded": [
        {
            "code": "CITY_INQUIRY_NOT_LAUNCHED",
            "title": "Your city has not launched online inquiry",
            "detail": "Hangzhou has not launched online e-insurance inquiry, so the e-voucher platforms cannot show your balance.",
            "remedy": "Bring your social security card to the counter of Hangzhou Medical Security Service Centre (18 Jiefang Road East), or call Hangzhou Medical Security Service Centre on 0571-12393 to check it.",
            "retry_after": None,
            "expected_date": None,
            "hotline": "0571-12393",
            "agency": {
                "name": "Hangzhou Medical Security Service Centre",
                "address": "18 Jiefang Road East",
                "phone": "0571-12393",
            },
        }
    ],
    "e-voucher never activated": [
        {
            "code": "EVOUCHER_NOT_ACTIVATED",
            "title": "Your electronic medical-insurance voucher is not activated",
            "detail": "Your electronic medical-insurance voucher has not been activated, so it cannot be used or show your balance.",
            "remedy": "Activate it in WeChat, Alipay or the national medical-insurance app (accept the user agreement, then pass face authentication), or at a designated pharmacy with your ID.",
            "retry_after": None,
            "expected_date": None,
        }
    ],
    "e-voucher agreement accepted": [
        {
            "code": "EVOUCHER_NOT_ACTIVATED",
            "title": "Your electronic medical-insurance voucher is not activated",
            "detail": "You accepted the user agreement, but face authentication has not been passed.",
            "remedy": "Activate it in WeChat, Alipay or the national medical-insurance app (accept the user agreement, then pass face authentication), or at a designated pharmacy with your ID.",
            "retry_after": None,
            "expected_date": None,
        }
    ],
    "e-voucher locked after failed face checks": [
        {
            "code": "EVOUCHER_NOT_ACTIVATED",
            "title": "Your electronic medical-insurance voucher is not activated",
            "detail": "Activation is paused after repeated failed face authentications, until 2026-03-16 11:00. That time is on the sandbox's simulated clock: advance the clock past it with POST /api/v1/sandbox/clock/advance.",
            "remedy": "Activate it in WeChat, Alipay or the national medical-insurance app (accept the user agreement, then pass face authentication), or at a designated pharmacy with your ID.",
            "retry_after": None,
            "expected_date": None,
        }
    ],
    "e-voucher lock ending this very moment": [
        {
            "code": "EVOUCHER_NOT_ACTIVATED",
            "title": "Your electronic medical-insurance voucher is not activated",
            "detail": "You accepted the user agreement, but face authentication has not been passed.",
            "remedy": "Activate it in WeChat, Alipay or the national medical-insurance app (accept the user agreement, then pass face authentication), or at a designated pharmacy with your ID.",
            "retry_after": None,
            "expected_date": None,
        }
    ],
    "wrong channel": [
        {
            "code": "WRONG_CHANNEL",
            "title": "This channel cannot show the personal account",
            "detail": "Your medical-insurance card carries two accounts: your personal account, and the pooled (fund) account that pays the insurance's share of your medical costs. In Hangzhou the personal account's balance is not shown online; designated hospitals, designated pharmacies and medical-insurance agencies show it.",
            "remedy": "Ask with your card at a designated hospital or pharmacy, or at the counter of the local medical-insurance agency; or call the national medical-insurance hotline on 12393.",
            "retry_after": None,
            "expected_date": None,
            "channels": ["INSTITUTION", "COUNTER"],
            "hotline": "12393",
        }
    ],
    "wrong channel, the agency recorded": [
        {
            "code": "WRONG_CHANNEL",
            "title": "This channel cannot show the personal account",
            "detail": "Your medical-insurance card carries two accounts: your personal account, and the pooled (fund) account that pays the insurance's share of your medical costs. In Hangzhou the personal account's balance is not shown online; designated hospitals, designated pharmacies and medical-insurance agencies show it.",
            "remedy": "Ask with your card at a designated hospital or pharmacy, or at the counter of Hangzhou Medical Security Service Centre (18 Jiefang Road East); or call Hangzhou Medical Security Service Centre on 0571-12393.",
            "retry_after": None,
            "expected_date": None,
            "channels": ["INSTITUTION", "COUNTER"],
            "hotline": "0571-12393",
            "agency": {
                "name": "Hangzhou Medical Security Service Centre",
                "address": "18 Jiefang Road East",
                "phone": "0571-12393",
            },
        }
    ],
    "resident account abolished": [
        {
            "code": "PERSONAL_ACCOUNT_ABOLISHED",
            "title": "Residents no longer have a personal account here",
            "detail": "Since 2025-01-01, Hangzhou has replaced resident personal accounts with outpatient pooling: it pays 50% of eligible common outpatient costs, up to 600.00 CNY a year; 474.50 CNY remains this year.",
            "remedy": "Nothing to do: settle at designated institutions as usual and outpatient pooling pays its share.",
            "retry_after": None,
            "expected_date": None,
            "outpatient_pooling": {
                "ratio": "0.5000",
                "annual_quota": "600.00",
                "used": "125.50",
                "remaining": "474.50",
                "currency": "CNY",
            },
        }
    ],
    "resident account abolished, pooling pays all": [
        {
            "code": "PERSONAL_ACCOUNT_ABOLISHED",
            "title": "Residents no longer have a personal account here",
            "detail": "Since 2025-01-01, Hangzhou has replaced resident personal accounts with outpatient pooling: it pays 100% of eligible common outpatient costs, up to 600.00 CNY a year; 600.00 CNY remains this year.",
            "remedy": "Nothing to do: settle at designated institutions as usual and outpatient pooling pays its share.",
            "retry_after": None,
            "expected_date": None,
            "outpatient_pooling": {
                "ratio": "1.0000",
                "annual_quota": "600.00",
                "used": "0.00",
                "remaining": "600.00",
                "currency": "CNY",
            },
        }
    ],
    "no card yet": [
        {
            "code": "CARD_NOT_ACTIVATED",
            "title": "Your social security card is not activated",
            "detail": "You have no social security card yet.",
            "remedy": "Apply at the county medical-insurance centre (issued on the spot) or a street service point (ready within 3 working days), then activate it at the agency.",
            "retry_after": None,
            "expected_date": None,
            "hotline": "12393",
        }
    ],
    "card being made": [
        {
            "code": "CARD_NOT_ACTIVATED",
            "title": "Your social security card is not activated",
            "detail": "Your card is being made; it will be ready on 2026-03-19.",
            "remedy": "Collect it when it is ready, then activate it at the agency (bring your ID, set a PIN).",
            "retry_after": None,
            "expected_date": date(2026, 3, 19),
            "hotline": "12393",
        }
    ],
    "card ready for pick-up": [
        {
            "code": "CARD_NOT_ACTIVATED",
            "title": "Your social security card is not activated",
            "detail": "Your card is ready for pick-up but has not been collected and activated.",
            "remedy": "Collect it at the service point and activate it at the agency (bring your ID, set a PIN).",
            "retry_after": None,
            "expected_date": None,
            "hotline": "12393",
        }
    ],
    "card lost": [
        {
            "code": "CARD_NOT_ACTIVATED",
            "title": "Your social security card is not activated",
            "detail": "Your card was reported lost and no replacement has been issued.",
            "remedy": "Apply for a replacement at the agency, then activate the new card.",
            "retry_after": None,
            "expected_date": None,
            "hotline": "12393",
        }
    ],
    "card issued, not activated": [
        {
            "code": "CARD_NOT_ACTIVATED",
            "title": "Your social security card is not activated",
            "detail": "Your physical social security card has been issued but not activated.",
            "remedy": "Activate it at Hangzhou Medical Security Service Centre (18 Jiefang Road East): bring the card and your ID, and set a PIN.",
            "retry_after": None,
            "expected_date": None,
            "hotline": "0571-12393",
            "agency": {
                "name": "Hangzhou Medical Security Service Centre",
                "address": "18 Jiefang Road East",
                "phone": "0571-12393",
            },
        }
    ],
    "card presented, issued, not activated": [
        {
            "code": "CARD_NOT_ACTIVATED",
            "title": "Your social security card is not activated",
            "detail": "The card presented has been issued but not activated, so it can neither pay nor show the balance here.",
            "remedy": "Activate it at the local medical-insurance agency: bring the card and your ID, and set a PIN. Meanwhile, an activated e-voucher can be presented instead of the card.",
            "retry_after": None,
            "expected_date": None,
            "hotline": "12393",
        }
    ],
    "card presented, being made": [
        {
            "code": "CARD_NOT_ACTIVATED",
            "title": "Your social security card is not activated",
            "detail": "Your card is being made; it will be ready on 2026-03-19.",
            "remedy": "Collect it when it is ready, then activate it at the agency (bring your ID, set a PIN). Meanwhile, an activated e-voucher can be presented instead of the card.",
            "retry_after": None,
            "expected_date": date(2026, 3, 19),
            "hotline": "12393",
        }
    ],
    "no public upload channel": [
        {
            "code": "DATA_NOT_UPLOADED",
            "title": "Your account data has not reached the national platform",
            "detail": "Hangzhou has no public channel to the national platform, so no account data reaches it.",
            "remedy": "Online inquiry will not show it until the city opens one; designated institutions and the counter of the local medical-insurance agency read the live account meanwhile (or call the national medical-insurance hotline on 12393).",
            "retry_after": None,
            "expected_date": None,
            "hotline": "12393",
        }
    ],
    "city never uploaded": [
        {
            "code": "DATA_NOT_UPLOADED",
            "title": "Your account data has not reached the national platform",
            "detail": "Hangzhou has not uploaded account data to the national platform yet.",
            "remedy": "Wait for the city's next upload, due on 2026-04-01.",
            "retry_after": None,
            "expected_date": date(2026, 4, 1),
        }
    ],
    "person not in the latest upload": [
        {
            "code": "DATA_NOT_UPLOADED",
            "title": "Your account data has not reached the national platform",
            "detail": "Your account is not in Hangzhou's latest upload (as of 2026-03-01 02:00).",
            "remedy": "Wait for the city's next upload, due on 2026-04-01.",
            "retry_after": None,
            "expected_date": date(2026, 4, 1),
        }
    ],
    "platform busy": [
        {
            "code": "PLATFORM_BUSY",
            "title": "The query platform is busy",
            "detail": "Too many people are querying Hangzhou's platform right now.",
            "remedy": "Query again off-peak; retry in 45 seconds at the earliest. These are real seconds: advancing the sandbox's simulated clock does not shorten them.",
            "retry_after": 45,
            "expected_date": None,
        }
    ],
    "credited since the upload": [
        {
            "code": "FUNDS_NOT_YET_TRANSFERRED",
            "title": "The first crediting has not been posted yet",
            "detail": "At the city's last upload your account had not received its first crediting; it has been credited since, and shows online after the next upload.",
            "remedy": "Wait for the next upload, due on 2026-04-01.",
            "retry_after": None,
            "expected_date": date(2026, 4, 1),
        }
    ],
    "credited since the upload, no upload to come": [
        {
            "code": "DATA_NOT_UPLOADED",
            "title": "Your account data has not reached the national platform",
            "detail": "Hangzhou has no public channel to the national platform, so no account data reaches it.",
            "remedy": "Online inquiry will not show it until the city opens one; designated institutions and the counter of the local medical-insurance agency read the live account meanwhile (or call the national medical-insurance hotline on 12393).",
            "retry_after": None,
            "expected_date": None,
            "hotline": "12393",
        },
        {
            "code": "FUNDS_NOT_YET_TRANSFERRED",
            "title": "The first crediting has not been posted yet",
            "detail": "At the city's last upload your account had not received its first crediting; it has been credited since, and shows online after the next upload.",
            "remedy": "Wait for the next upload.",
            "retry_after": None,
            "expected_date": None,
        },
    ],
    "resident whose year is unpaid": [
        {
            "code": "FUNDS_NOT_YET_TRANSFERRED",
            "title": "The first crediting has not been posted yet",
            "detail": "Your personal account is at 0.00 because this year's resident contribution has not been received; the first crediting follows it.",
            "remedy": "Pay this year's resident contribution; the first crediting follows on the next crediting day.",
            "retry_after": None,
            "expected_date": None,
        }
    ],
    "employee awaiting the first contribution": [
        {
            "code": "FUNDS_NOT_YET_TRANSFERRED",
            "title": "The first crediting has not been posted yet",
            "detail": "Your personal account is at 0.00 because no contribution has been received yet; the first crediting follows the first contribution.",
            "remedy": "Wait; the first crediting is expected on 2026-04-25.",
            "retry_after": None,
            "expected_date": date(2026, 4, 25),
        }
    ],
    "employee awaiting the first crediting": [
        {
            "code": "FUNDS_NOT_YET_TRANSFERRED",
            "title": "The first crediting has not been posted yet",
            "detail": "Your personal account is at 0.00 because the agency has not yet posted its first crediting.",
            "remedy": "Wait; the first crediting is expected on 2026-03-25.",
            "retry_after": None,
            "expected_date": date(2026, 3, 25),
        }
    ],
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_reason_says_exactly_what_the_catalogue_says(name):
    diagnosis = SCENARIOS[name]()
    assert [reason.as_dict() for reason in diagnosis.reasons] == EXPECTED[name]


# --- Notices: the employer's payments --------------------------------------------------------

REMEDY_ARREARS = (
    "Ask your employer to pay the arrears; the missing credits follow at the next crediting once "
    "it does. If it does not, complain to the local medical-insurance agency or call 12393: you "
    "have the right to supervise your employer's payments (Social Insurance Law, art. 4)."
)


def _months(*numbers):
    return tuple(date(2026, number, 1) for number in numbers)


@pytest.mark.parametrize(
    ("employer", "months", "detail"),
    [
        (
            "Westlake Trading",
            _months(9),
            "Westlake Trading has not paid your medical-insurance contributions for 2026-09 "
            "(1 month, 1000.00 CNY), so your personal account has not received 200.00 CNY for it "
            "and is not growing.",
        ),
        (
            None,
            _months(7, 8, 9),
            "Your employer has not paid your medical-insurance contributions for 2026-07, "
            "2026-08, 2026-09 (3 months, 1000.00 CNY), so your personal account has not received "
            "200.00 CNY for them and is not growing.",
        ),
        (
            "Westlake Trading",
            _months(6, 7, 8, 9),
            "Westlake Trading has not paid your medical-insurance contributions for 2026-06 to "
            "2026-09 (4 months, 1000.00 CNY), so your personal account has not received 200.00 "
            "CNY for them and is not growing.",
        ),
    ],
    ids=["one month", "three months named", "four months as a span"],
)
def test_arrears_say_which_months_in_the_right_number(employer, months, detail):
    (notice,) = employer_notices(
        EmployerPaymentFacts(
            employer_name=employer,
            unpaid_periods=months,
            unpaid_amount=Decimal("1000.00"),
            unpaid_account_share=Decimal("200.00"),
        )
    )
    assert (notice.detail, notice.remedy) == (detail, REMEDY_ARREARS)


def test_an_underpayment_says_what_the_account_missed_and_owes_nothing_itself():
    (notice,) = employer_notices(
        EmployerPaymentFacts(
            latest_period=date(2026, 10, 1),
            latest_base_used=Decimal("6000.00"),
            latest_base_due=Decimal("10000.00"),
            latest_account_share=Decimal("120.00"),
        )
    )
    assert notice.detail == (
        "Your employer paid your contributions for 2026-10 on a base of 6000.00 CNY, below the "
        "10000.00 CNY due on your declared wage, so your personal account received 120.00 CNY "
        "instead of 200.00 CNY."
    )
    assert notice.remedy == (
        "Ask your employer to pay on your declared wage and to make up the difference. If it "
        "does not, complain to the local medical-insurance agency or call 12393 (Social "
        "Insurance Law, art. 4)."
    )
    assert notice.amount_owed == Decimal("0") and notice.amount_owed is not None
    assert notice.as_dict() == {
        "code": "EMPLOYER_UNDERPAID",
        "title": "Your employer paid on a base below your declared wage",
        "detail": notice.detail,
        "remedy": notice.remedy,
        "months": ["2026-10-01"],
        "amount_owed": "0.00",
        "account_share_missing": "80.00",
        "currency": "CNY",
        "hotline": "12393",
    }


# --- The answer as data ----------------------------------------------------------------------


def test_the_answer_as_data_names_every_member():
    diagnosis = online(facts(card_status="LOST"))
    assert diagnosis.as_dict() == {
        "person_id": 9,
        "channel": "ONLINE",
        "visible": False,
        "balance": None,
        "reasons": [reason.as_dict() for reason in diagnosis.reasons],
        "notices": [],
    }
    assert [reason["code"] for reason in diagnosis.as_dict()["reasons"]] == ["CARD_NOT_ACTIVATED"]
    shown = online(facts())
    assert shown.as_dict()["balance"] == {
        "amount": Decimal("200.00"),
        "currency": "CNY",
        "as_of": UPLOADED_AT,
        "source": "snapshot",
    }


def test_as_json_writes_a_utc_time_with_z_and_a_local_one_with_its_offset():
    shown = counter(facts())
    assert shown.as_json()["balance"]["as_of"] == "2026-03-16T10:00:00+08:00"
    with timezone.override("UTC"):
        assert shown.as_json()["balance"] == {
            "amount": "400.00",
            "currency": "CNY",
            "as_of": "2026-03-16T02:00:00Z",
            "source": "live",
        }
