"""Inpatient stays through the interface: admission, fee lines, discharge, pre-settlement,
settlement and reversal (2401, 2301, 2402, 2303, 2304, 2305, 2404), and 2601 over a lost 2304."""

import pytest

from fsi.tests.test_outpatient import (
    D,
    assert_adds_up,
    card,
    catalog,  # noqa: F401  (a fixture)
    evoucher,
    ledger_state,
    money_of,
    ok,
    refused,
    settlement_input,
)
from settlement.models import Settlement, Visit
from settlement.tests.factories import PharmacyFactory
from users.tests.factories import TerminalFactory

pytestmark = pytest.mark.django_db

STAY = [("FSI-A", "A", "3", "900.00"), ("FSI-B", "B", "2", "450.50"), ("FSI-C", "C", "1", "80")]


def admit(terminal, person, presented) -> str:
    return ok(
        terminal.send(
            "2401",
            {
                "mdtrtinfo": {
                    "psn_no": str(person.pk),
                    "insutype": "310",
                    "begntime": "2026-10-28 10:00:00",
                    **presented,
                    "med_type": "21",
                    "ipt_no": "ZY0001",
                    "medrcdno": "BA0001",
                    "atddr_no": "D002",
                    "adm_dept_codg": "A03",
                    "dise_codg": "J18.900",
                    "dise_name": "Pneumonia",
                },
                "diseinfo": [],
            },
        )
    )["result"]["mdtrt_id"]


def fee_lines(terminal, person, mdtrt_id) -> list[dict]:
    return ok(
        terminal.send(
            "2301",
            {
                "feedetail": [
                    {
                        "feedetl_sn": f"ZY-{number}",
                        "mdtrt_id": mdtrt_id,
                        "psn_no": str(person.pk),
                        "med_list_codg": code,
                        "det_item_fee_sumamt": str((D(cnt) * D(pric)).quantize(D("0.01"))),
                        "cnt": cnt,
                        "pric": pric,
                    }
                    for number, (code, _, cnt, pric) in enumerate(STAY, start=1)
                ]
            },
        )
    )["result"]


def discharge(terminal, person, mdtrt_id):
    return terminal.send(
        "2402",
        {
            "dscginfo": {
                "mdtrt_id": mdtrt_id,
                "psn_no": str(person.pk),
                "insutype": "310",
                "endtime": "2026-11-02 08:30:00",
                "dise_codg": "J18.900",
                "dise_name": "Pneumonia",
                "dscg_way": "1",
            }
        },
    )


def test_a_stay_is_settled_after_discharge_as_quoted(signed_in, employee, catalog):  # noqa: F811
    presented = evoucher(employee)
    mdtrt_id = admit(signed_in, employee, presented)
    result = fee_lines(signed_in, employee, mdtrt_id)
    assert [line["chrgitm_lv"] for line in result] == ["01", "02", "03"]
    refused(
        signed_in.send("2304", settlement_input(employee, mdtrt_id, presented)),
        "VISIT_NOT_DISCHARGED",
    )
    ok(discharge(signed_in, employee, mdtrt_id))
    refused(discharge(signed_in, employee, mdtrt_id), "VISIT_ALREADY_DISCHARGED")

    quoted = ok(signed_in.send("2303", settlement_input(employee, mdtrt_id, presented)))
    settled = ok(signed_in.send("2304", settlement_input(employee, mdtrt_id, presented)))

    assert money_of(settled) == money_of(quoted)
    setlinfo = settled["setlinfo"]
    assert_adds_up(setlinfo)
    assert setlinfo["clr_type"] == "21"
    settlement = Settlement.objects.get(pk=int(setlinfo["setl_id"]))
    assert settlement.visit_type == "INPATIENT"
    assert D(setlinfo["act_pay_dedc"]) == settlement.deductible_amount > 0
    assert D(setlinfo["medfee_sumamt"]) == D("3681.00")

    reversal = {"data": {"mdtrt_id": mdtrt_id, "setl_id": setlinfo["setl_id"]}}
    ok(signed_in.send("2305", reversal))
    refused(signed_in.send("2305", reversal), "SETTLEMENT_ALREADY_REVERSED")


def test_a_correction_after_a_lost_inpatient_settlement(signed_in, employee, catalog):  # noqa: F811
    presented = evoucher(employee)
    mdtrt_id = admit(signed_in, employee, presented)
    fee_lines(signed_in, employee, mdtrt_id)
    ok(discharge(signed_in, employee, mdtrt_id))
    before = ledger_state()
    lost = signed_in.envelope("2304", settlement_input(employee, mdtrt_id, presented))
    assert signed_in.post(lost).json()["infcode"] == 0

    answer = ok(signed_in.send("2601", {"data": {"omsgid": lost["msgid"], "oinfno": "2304"}}))

    assert answer["crct_rslt"] == "1"
    assert ledger_state() == before
    refused(
        signed_in.send("2303", settlement_input(employee, mdtrt_id, presented, mid_setl_flag="1")),
        "INPUT_INVALID",
    )
    ok(signed_in.send("2404", {"data": {"mdtrt_id": mdtrt_id}}))
    assert Visit.objects.get(mdtrt_id=mdtrt_id).status == Visit.Status.CANCELLED


def test_a_pharmacy_admits_nobody(city, employee, catalog):  # noqa: F811
    from fsi.tests.conftest import Terminal

    pharmacy = Terminal(TerminalFactory(institution=PharmacyFactory(city=city)))
    pharmacy.sign_in()
    refused(
        pharmacy.send("2401", {"mdtrtinfo": {**card(employee), "ipt_no": "ZY9"}, "diseinfo": []}),
        "VISIT_TYPE_NOT_OFFERED",
    )
