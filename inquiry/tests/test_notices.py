"""The employer notices beside the balance: a pure function of the facts, tested without a
database. They never hide the balance and never change the reasons."""

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from inquiry.channels import Channel
from inquiry.diagnosis import diagnose
from inquiry.facts import BalanceFacts, CityFacts, PlatformQuota, SnapshotFacts
from inquiry.notices import (
    NO_EMPLOYER_PAYMENT_FACTS,
    EmployerPaymentFacts,
    NoticeCode,
    employer_notices,
)

NOW = datetime(2026, 11, 16, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)

ARREARS = EmployerPaymentFacts(
    employer_name="Westlake Trading",
    unpaid_periods=(SEP, OCT),
    unpaid_amount=Decimal("2000.00"),
    unpaid_account_share=Decimal("400.00"),
    latest_period=date(2026, 8, 1),
    latest_base_used=Decimal("10000.00"),
    latest_base_due=Decimal("10000.00"),
    latest_account_share=Decimal("200.00"),
)
UNDERPAID = EmployerPaymentFacts(
    employer_name="Westlake Trading",
    latest_period=OCT,
    latest_base_used=Decimal("6000.00"),
    latest_base_due=Decimal("10000.00"),
    latest_account_share=Decimal("120.00"),
)


def facts(employer_payments=NO_EMPLOYER_PAYMENT_FACTS) -> BalanceFacts:
    return BalanceFacts(
        person_id=9,
        is_employee=True,
        is_retired=False,
        enrolled_on=date(2026, 1, 1),
        city=CityFacts(
            name="Hangzhou",
            online_inquiry_launched=True,
            personal_account_shown_online=True,
            has_public_upload_channel=True,
            upload_frequency="DAILY",
            upload_day=1,
            contribution_day=15,
            crediting_day=25,
            resident_accounts_abolished_on=None,
            outpatient_pooling_ratio=Decimal("0.5"),
            outpatient_pooling_annual_quota=Decimal("2000.00"),
            latest_upload_as_of=NOW,
        ),
        evoucher_status="ACTIVATED",
        evoucher_locked_until=None,
        card_status="ACTIVE",
        card_ready_on=None,
        account_balance=Decimal("1600.00"),
        snapshot=SnapshotFacts(balance=Decimal("1600.00"), as_of=NOW, credited=True),
        has_crediting=True,
        has_contribution=True,
        outpatient_pool_paid=None,
        platform=PlatformQuota(city_id=1, capacity=100, window_seconds=1, forced_busy=False),
        employer_payments=employer_payments,
    )


def test_no_notice_when_the_employer_pays_or_there_is_none():
    assert employer_notices(NO_EMPLOYER_PAYMENT_FACTS) == ()
    paid = replace(ARREARS, unpaid_periods=(), unpaid_amount=Decimal("0.00"))
    assert employer_notices(paid) == ()


def test_arrears_say_which_months_what_the_account_misses_and_what_to_do():
    (notice,) = employer_notices(ARREARS)
    assert notice.code is NoticeCode.EMPLOYER_ARREARS
    assert notice.months == (SEP, OCT)
    assert (notice.amount_owed, notice.account_share_missing) == (
        Decimal("2000.00"),
        Decimal("400.00"),
    )
    assert "Westlake Trading has not paid" in notice.detail
    assert "2026-09, 2026-10 (2 months" in notice.detail and "400.00 CNY" in notice.detail
    assert "Ask your employer" in notice.remedy and "12393" in notice.remedy
    body = notice.as_dict()
    assert body["months"] == ["2026-09-01", "2026-10-01"]
    assert (body["amount_owed"], body["account_share_missing"]) == ("2000.00", "400.00")
    assert body["code"] == "EMPLOYER_ARREARS" and body["hotline"] == "12393"


def test_many_months_are_named_by_their_span():
    months = tuple(date(2026, m, 1) for m in range(1, 8))
    (notice,) = employer_notices(replace(ARREARS, unpaid_periods=months))
    assert "2026-01 to 2026-07 (7 months" in notice.detail
    assert notice.months == months


def test_an_underpaid_latest_month_says_the_bases_and_what_the_account_missed():
    (notice,) = employer_notices(UNDERPAID)
    assert notice.code is NoticeCode.EMPLOYER_UNDERPAID
    assert notice.months == (OCT,)
    assert notice.account_share_missing == Decimal("80.00")  # 2 % of 10,000 less 120.00
    assert "6000.00 CNY, below the 10000.00 CNY due" in notice.detail
    assert "120.00 CNY instead of 200.00 CNY" in notice.detail


def test_arrears_come_before_an_underpayment():
    both = replace(UNDERPAID, unpaid_periods=(SEP,), unpaid_account_share=Decimal("200.00"))
    assert [n.code for n in employer_notices(both)] == [
        NoticeCode.EMPLOYER_ARREARS,
        NoticeCode.EMPLOYER_UNDERPAID,
    ]


def test_a_month_paid_in_full_or_without_a_known_base_due_is_no_underpayment():
    assert employer_notices(replace(UNDERPAID, latest_base_used=Decimal("10000.00"))) == ()
    assert employer_notices(replace(UNDERPAID, latest_base_due=None)) == ()


def test_notices_hide_nothing_and_change_no_reason_on_any_channel():
    for channel in Channel:
        plain = diagnose(facts(), channel=channel, now=NOW, platform_busy=None)
        noticed = diagnose(facts(ARREARS), channel=channel, now=NOW, platform_busy=None)
        assert (noticed.visible, noticed.amount, noticed.reasons) == (
            plain.visible,
            plain.amount,
            plain.reasons,
        )
        assert plain.notices == () and [n.code for n in noticed.notices] == ["EMPLOYER_ARREARS"]
        assert noticed.as_json()["notices"][0]["months"] == ["2026-09-01", "2026-10-01"]
        assert plain.as_json()["notices"] == []
