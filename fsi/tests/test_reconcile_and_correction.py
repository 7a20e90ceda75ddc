"""3201 reconciliation against the institution's settlements, and 2601 correction of a message
whose answer was lost."""

from decimal import Decimal

import pytest

from accounts.models import Account
from cards.credentials import PresentedCredential
from cards.services import card_pin_verify
from common import clock
from fsi.models import Message
from sandbox.scenarios import DEMO_PIN
from settlement.models import AnnualUsage, Settlement
from settlement.services import LineInput, settlement_reverse, settlement_submit

pytestmark = pytest.mark.django_db


def _settle(hospital, terminal, person, amount: str, *, account: bool = True) -> Settlement:
    credential = card_pin_verify(
        credential=PresentedCredential(kind="CARD", value=person.card.number, person_id=person.pk),
        pin=DEMO_PIN,
        now=clock.now(),
    )
    return settlement_submit(
        institution=hospital,
        credential=credential,
        visit_type="OUTPATIENT",
        lines=[LineInput(code="FSI-A", quantity=Decimal("1"), unit_price=Decimal(amount))],
        use_personal_account=account,
        by=terminal.user,
    )


def _statement(**figures) -> dict:
    return {
        "data": {
            "insutype": "310",
            "clr_type": "11",
            "setl_optins": "330100",
            "stmt_begndate": "2026-11-01",
            "stmt_enddate": "2026-11-30",
            **figures,
        }
    }


# --- 3201 -------------------------------------------------------------------------------------


def test_totals_that_agree_to_the_cent(signed_in, hospital, employee, item):
    one = _settle(hospital, signed_in, employee, "150.00")
    two = _settle(hospital, signed_in, employee, "80.50", account=False)
    reversed_ = _settle(hospital, signed_in, employee, "20.00")
    settlement_reverse(settlement=reversed_, reason="Entered twice", by=signed_in.user)
    sent = {
        "medfee_sumamt": "230.50",
        "fund_pay_sumamt": str(one.pool_amount + two.pool_amount),
        "acct_pay": float(one.personal_account_amount + two.personal_account_amount),
        "fixmedins_setl_cnt": 2,
    }
    answer = signed_in.send("3201", _statement(**sent))
    assert answer["infcode"] == 0, answer
    assert answer["output"]["stmtinfo"]["stmt_rslt"] == "1"
    totals = answer["output"]["stmt_totals"]
    assert Decimal(str(totals["medfee_sumamt"])) == Decimal("230.50")
    assert totals["fixmedins_setl_cnt"] == 2


def test_totals_that_disagree_name_the_figures(signed_in, hospital, employee, item):
    settlement = _settle(hospital, signed_in, employee, "150.00")
    answer = signed_in.send(
        "3201",
        _statement(
            medfee_sumamt="150.01",
            fund_pay_sumamt=str(settlement.pool_amount),
            acct_pay=str(settlement.personal_account_amount),
            fixmedins_setl_cnt=1,
        ),
    )
    stmt = answer["output"]["stmtinfo"]
    assert stmt["stmt_rslt"] == "0"
    assert "医疗费总额" in stmt["stmt_rslt_dscr"] and "结算笔数" not in stmt["stmt_rslt_dscr"]
    assert Decimal(str(answer["output"]["stmt_totals"]["medfee_sumamt"])) == Decimal("150.00")


def test_other_periods_cities_and_schemes_count_nothing(signed_in, hospital, employee, item):
    _settle(hospital, signed_in, employee, "150.00")
    zero = {"medfee_sumamt": 0, "fund_pay_sumamt": 0, "acct_pay": 0, "fixmedins_setl_cnt": 0}
    for change in (
        {"stmt_begndate": "2026-10-01", "stmt_enddate": "2026-10-31"},
        {"setl_optins": "350100"},
        {"insutype": "390"},
    ):
        answer = signed_in.send("3201", {"data": _statement(**zero)["data"] | change})
        assert answer["output"]["stmtinfo"]["stmt_rslt"] == "1", change


@pytest.mark.parametrize(
    "change, field",
    [
        ({"medfee_sumamt": "12.345"}, "medfee_sumamt"),
        ({"medfee_sumamt": "-1"}, "medfee_sumamt"),
        ({"medfee_sumamt": "1e400"}, "medfee_sumamt"),
        ({"acct_pay": [1]}, "acct_pay"),
        ({"fixmedins_setl_cnt": 1.5}, "fixmedins_setl_cnt"),
        ({"stmt_begndate": "2026-02-30"}, "stmt_begndate"),
        ({"stmt_enddate": "2026-10-01"}, "stmt_enddate"),
        ({"insutype": "999"}, "insutype"),
    ],
)
def test_a_statement_off_the_pattern_is_refused(signed_in, change, field):
    base = {"medfee_sumamt": 0, "fund_pay_sumamt": 0, "acct_pay": 0, "fixmedins_setl_cnt": 0}
    answer = signed_in.send("3201", {"data": _statement(**base)["data"] | change})
    assert answer["extension"]["code"] == "INPUT_INVALID"
    assert f"input.data.{field}" in {error["field"] for error in answer["extension"]["errors"]}


# --- 2601 -------------------------------------------------------------------------------------


def _ledger(person, hospital) -> tuple:
    balances = dict(
        Account.objects.filter(person=person)
        .with_balance_total()
        .values_list("kind", "balance_total")
    ) | dict(
        Account.objects.filter(institution=hospital)
        .with_balance_total()
        .values_list("kind", "balance_total")
    )
    usage = AnnualUsage.objects.filter(person=person).values_list(
        "deductible_outpatient", "pool_paid", "outpatient_pool_paid"
    )
    pool = Account.objects.get(city=person.city, kind=Account.Kind.EMPLOYEE_POOL).balance
    return balances, list(usage) or [(0, 0, 0)], pool


def test_a_settlement_whose_answer_was_lost_is_undone(
    signed_in, hospital, employee, settling_transaction
):
    before = _ledger(employee, hospital)
    lost = signed_in.envelope(
        settling_transaction, {"data": {"psn_no": str(employee.pk), "card": employee.card.number}}
    )
    assert signed_in.post(lost).json()["infcode"] == 0  # ...and the answer never arrived
    assert _ledger(employee, hospital) != before
    correction = signed_in.envelope(
        "2601", {"data": {"omsgid": lost["msgid"], "oinfno": settling_transaction}}
    )
    answer = signed_in.post(correction).json()
    assert answer["infcode"] == 0, answer
    assert answer["output"]["crct_rslt"] == "1"
    assert _ledger(employee, hospital) == before
    assert Settlement.objects.get().status == Settlement.Status.REVERSED
    original = Message.objects.get(msgid=lost["msgid"], claims_msgid=True)
    assert original.corrected_by.msgid == correction["msgid"]

    # The same correction again: its stored answer, nothing more.
    again = signed_in.post(correction).json()
    assert again["extension"]["replayed"] and again["inf_refmsgid"] == answer["inf_refmsgid"]
    # Another correction of the same message: already corrected, nothing more.
    second = signed_in.send(
        "2601", {"data": {"omsgid": lost["msgid"], "oinfno": settling_transaction}}
    )
    assert second["output"]["crct_rslt"] == "2"
    assert _ledger(employee, hospital) == before
    # And the lost message sent again is its stored answer, not a second settlement.
    assert signed_in.post(lost).json()["extension"]["replayed"] is True
    assert Settlement.objects.count() == 1


def test_a_message_that_was_refused_did_nothing(signed_in, employee, settling_transaction):
    refused = signed_in.envelope(
        settling_transaction, {"data": {"psn_no": str(employee.pk), "card": "X"}}
    )
    assert signed_in.post(refused).json()["infcode"] == -1
    answer = signed_in.send(
        "2601", {"data": {"omsgid": refused["msgid"], "oinfno": settling_transaction}}
    )
    assert answer["infcode"] == 0 and answer["output"]["crct_rslt"] == "0"
    assert answer["output"]["crct_rslt_dscr"].startswith("原交易未成功办理")
    # Sent again after its correction said it did nothing: not carried out.
    assert signed_in.post(refused).json()["extension"]["code"] == "MESSAGE_CORRECTED"


def test_an_inquiry_did_nothing(signed_in, employee):
    inquiry = signed_in.envelope(
        "1101", {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": employee.card.number}}
    )
    first = signed_in.post(inquiry).json()
    answer = signed_in.send("2601", {"data": {"omsgid": inquiry["msgid"], "oinfno": "1101"}})
    assert answer["output"]["crct_rslt"] == "0"
    assert answer["output"]["original_inf_refmsgid"] == first["inf_refmsgid"]


def test_a_message_that_never_arrived_is_voided(signed_in, employee, settling_transaction):
    late = signed_in.envelope(
        settling_transaction, {"data": {"psn_no": str(employee.pk), "card": employee.card.number}}
    )
    answer = signed_in.send(
        "2601", {"data": {"omsgid": late["msgid"], "oinfno": settling_transaction}}
    )
    assert answer["output"]["crct_rslt"] == "0"
    assert answer["output"]["crct_rslt_dscr"].startswith("原交易未到达平台")
    # It arrives after all: refused, never carried out after its correction said nothing happened.
    arrived = signed_in.post(late).json()
    assert arrived["extension"]["code"] == "MESSAGE_CORRECTED"
    assert not Settlement.objects.exists()


def test_the_original_must_be_of_the_transaction_named(signed_in, employee):
    inquiry = signed_in.envelope(
        "1101", {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": employee.card.number}}
    )
    signed_in.post(inquiry)
    answer = signed_in.send("2601", {"data": {"omsgid": inquiry["msgid"], "oinfno": "5206"}})
    assert answer["extension"]["code"] == "ORIGINAL_INFNO_MISMATCH"


@pytest.mark.parametrize("oinfno", ["9001", "2601"])
def test_sign_in_and_corrections_are_not_corrected(signed_in, oinfno):
    answer = signed_in.send("2601", {"data": {"omsgid": signed_in.msgid(), "oinfno": oinfno}})
    assert answer["extension"]["code"] == "INPUT_INVALID"


def test_another_institutions_message_is_not_corrected_from_here(signed_in, employee):
    from users.tests.factories import TerminalFactory

    from .conftest import Terminal

    other = Terminal(TerminalFactory())
    other.sign_in()
    theirs = other.envelope("9002", {"signOut": {}})
    assert other.post(theirs).json()["infcode"] == 0
    answer = signed_in.send("2601", {"data": {"omsgid": theirs["msgid"], "oinfno": "9002"}})
    assert answer["extension"]["code"] == "INPUT_INVALID"  # sign-out is not corrected anyway
    answer = signed_in.send("2601", {"data": {"omsgid": theirs["msgid"], "oinfno": "1101"}})
    assert answer["output"]["crct_rslt"] == "0"
    original = Message.objects.get(institution=other.institution, msgid=theirs["msgid"])
    assert original.corrected_by is None and original.outcome == "DONE"
