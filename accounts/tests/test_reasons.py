"""The reason catalogue as data: every code has its title and documented source, the order a
response lists reasons in, which reasons hide the balance, and a reason's members as the API
sends them. No database."""

from datetime import date

from accounts.reasons import (
    HIDING_REASONS,
    REASON_CHOICES,
    REASON_ORDER,
    REASON_SOURCES,
    REASON_TITLES,
    Reason,
    ReasonCode,
    in_catalogue_order,
)


def test_the_catalogue_lists_every_code_in_the_order_a_query_meets_them():
    assert [code.value for code in REASON_ORDER] == [
        "CITY_INQUIRY_NOT_LAUNCHED",
        "EVOUCHER_NOT_ACTIVATED",
        "WRONG_CHANNEL",
        "PERSONAL_ACCOUNT_ABOLISHED",
        "CARD_NOT_ACTIVATED",
        "DATA_NOT_UPLOADED",
        "PLATFORM_BUSY",
        "FUNDS_NOT_YET_TRANSFERRED",
    ]
    assert set(REASON_TITLES) == set(REASON_SOURCES) == set(ReasonCode)
    assert [(code.value, REASON_TITLES[code]) for code in REASON_ORDER] == REASON_CHOICES


def test_every_reason_hides_the_balance_but_the_first_crediting_still_to_come():
    assert set(ReasonCode) - {ReasonCode.FUNDS_NOT_YET_TRANSFERRED} == HIDING_REASONS
    for code in ReasonCode:
        reason = Reason(code, detail="d", remedy="r")
        assert reason.hides_balance is (code != ReasonCode.FUNDS_NOT_YET_TRANSFERRED)
        assert reason.title == REASON_TITLES[code]


def test_reasons_are_listed_in_the_catalogues_order_whatever_order_they_were_found_in():
    found = [Reason(code, detail="", remedy="") for code in reversed(REASON_ORDER)]
    assert [reason.code for reason in in_catalogue_order(found)] == list(REASON_ORDER)
    assert in_catalogue_order([]) == []


def test_a_reason_as_the_api_sends_it():
    reason = Reason(
        ReasonCode.DATA_NOT_UPLOADED,
        detail="Not in the latest upload.",
        remedy="Wait for the next upload.",
        retry_after=None,
        expected_date=date(2026, 4, 1),
        extra={"hotline": "12393"},
    )
    assert reason.as_dict() == {
        "code": "DATA_NOT_UPLOADED",
        "title": "Your account data has not reached the national platform",
        "detail": "Not in the latest upload.",
        "remedy": "Wait for the next upload.",
        "retry_after": None,
        "expected_date": date(2026, 4, 1),
        "hotline": "12393",
    }
    busy = Reason(ReasonCode.PLATFORM_BUSY, detail="", remedy="", retry_after=30).as_dict()
    assert busy["retry_after"] == 30 and busy["expected_date"] is None
