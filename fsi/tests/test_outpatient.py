"""Outpatient visits through the interface (2201 to 2208, and 2601 over them), golden: requests
built only from the national field lists, answers whose figures add up and equal the REST
settlement of the same visit to the cent."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client

from accounts.models import Account
from cards.services import evoucher_presentation_code_issue
from cities.tests.factories import CityFactory
from common import clock
from persons.tests.factories import PersonFactory
from settlement.models import AnnualUsage, CatalogItem, Settlement, Visit, VisitFeeLine
from settlement.tests.factories import CatalogItemFactory, active_card, fund_personal_account

pytestmark = pytest.mark.django_db

MONEY_FIELDS = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "psn_cash_pay",
    "hosp_part_amt",
    "balc",
    "acct_mulaid_pay",
)
# (code, class, cnt, pric): a line of each class, with a class-B share that needs rounding.
LINES = [
    ("FSI-A", "A", "2", "150.00"),
    ("FSI-B", "B", "1", "333.33"),
    ("FSI-C", "C", "3", "9.99"),
]


def D(value) -> Decimal:
    return Decimal(str(value))


@pytest.fixture
def catalog(db):
    return [
        CatalogItemFactory(code=code, catalog_class=getattr(CatalogItem.CatalogClass, klass))
        for code, klass, _, _ in LINES
    ]


def evoucher(person) -> dict:
    """The person's e-voucher as the terminal scans it: type 01 and the code the app shows."""
    return {
        "mdtrt_cert_type": "01",
        "mdtrt_cert_no": evoucher_presentation_code_issue(person=person).code,
    }


def card(person) -> dict:
    return {"mdtrt_cert_type": "03", "mdtrt_cert_no": person.card.number}


def ok(answer: dict) -> dict:
    assert answer["infcode"] == 0, answer
    return answer["output"]


def refused(answer: dict, code: str) -> dict:
    assert answer["infcode"] == -1, answer
    assert answer["extension"]["code"] == code, answer
    assert answer["err_msg"]
    return answer


def register(terminal, person, presented=None, number="MZ0001") -> str:
    output = ok(
        terminal.send(
            "2201",
            {
                "data": {
                    "psn_no": str(person.pk),
                    "insutype": "310",
                    "begntime": "2026-11-02 09:00:00",
                    **(presented or card(person)),
                    "ipt_otp_no": number,
                    "atddr_no": "D001",
                    "dr_name": "Dr Wang",
                    "dept_code": "A03",
                    "dept_name": "Internal medicine",
                    "caty": "A03",
                }
            },
        )
    )
    assert output["data"]["ipt_otp_no"] == number
    return output["data"]["mdtrt_id"]


def upload(terminal, person, mdtrt_id, lines=LINES, batch="B1") -> list[dict]:
    return ok(
        terminal.send(
            "2204",
            {
                "feedetail": [
                    {
                        "feedetl_sn": f"{batch}-{number}",
                        "mdtrt_id": mdtrt_id,
                        "psn_no": str(person.pk),
                        "chrg_bchno": batch,
                        "med_list_codg": code,
                        "medins_list_codg": f"H-{code}",
                        "det_item_fee_sumamt": str((D(cnt) * D(pric)).quantize(D("0.01"))),
                        "cnt": cnt,
                        "pric": pric,
                        "fee_ocur_time": "2026-11-02 09:10:00",
                    }
                    for number, (code, _, cnt, pric) in enumerate(lines, start=1)
                ]
            },
        )
    )["result"]


def settlement_input(person, mdtrt_id, presented, *, acct_used_flag="1", **more) -> dict:
    return {
        "data": {
            "psn_no": str(person.pk),
            **presented,
            "med_type": "11",
            "psn_setlway": "01",
            "mdtrt_id": mdtrt_id,
            "chrg_bchno": "B1",
            "insutype": "310",
            "acct_used_flag": acct_used_flag,
            **more,
        }
    }


def assert_adds_up(setlinfo: dict) -> None:
    figures = {name: D(setlinfo[name]) for name in MONEY_FIELDS}
    assert figures["medfee_sumamt"] == (
        figures["fulamt_ownpay_amt"] + figures["preselfpay_amt"] + figures["inscp_scp_amt"]
    )
    assert figures["medfee_sumamt"] == (
        figures["fund_pay_sumamt"]
        + figures["acct_pay"]
        + figures["psn_cash_pay"]
        + figures["acct_mulaid_pay"]
    )
    assert figures["psn_part_amt"] == figures["medfee_sumamt"] - figures["fund_pay_sumamt"]


def money_of(output: dict) -> dict:
    return {name: D(output["setlinfo"][name]) for name in MONEY_FIELDS} | {
        "setldetail": [
            (row["fund_pay_type"], D(row["fund_payamt"]), D(row["inscp_scp_amt"]))
            for row in output["setldetail"]
        ]
    }


def ledger_state() -> tuple:
    """Balances, the year's usage (a row of zeros is no usage) and the live settlements."""
    usage = AnnualUsage.objects.values_list(
        "person_id",
        "year",
        "deductible_outpatient",
        "deductible_inpatient",
        "pool_paid",
        "outpatient_pool_paid",
    )
    return (
        sorted(Account.objects.with_balance_total().values_list("id", "balance_total")),
        sorted(row for row in usage if any(row[2:])),
        Settlement.objects.filter(status=Settlement.Status.SETTLED).count(),
    )


def rest_settlement(terminal, presented: dict, mdtrt_id: str) -> dict:
    """The same visit settled through the REST API (presenting the same e-voucher code)."""
    response = Client().post(
        "/api/v1/settlements",
        data=json.dumps(
            {
                "visit_type": "OUTPATIENT",
                "visit_reference": mdtrt_id,
                "use_personal_account": True,
                "line_items": [
                    {"code": code, "quantity": cnt, "unit_price": pric}
                    for code, _, cnt, pric in LINES
                ],
            }
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=terminal.authorization,
        HTTP_X_PRESENTED_CREDENTIAL=f"EVOUCHER {presented['mdtrt_cert_no']}",
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_golden_outpatient_visit_adds_up_and_equals_the_rest_settlement(
    signed_in, employee, catalog
):
    presented = evoucher(employee)
    mdtrt_id = register(signed_in, employee, presented)
    ok(
        signed_in.send(
            "2203",
            {
                "mdtrtinfo": {
                    "mdtrt_id": mdtrt_id,
                    "psn_no": str(employee.pk),
                    "med_type": "11",
                    "begntime": "2026-11-02 09:00:00",
                    "main_cond_dscr": "Cough for three days",
                    "dise_codg": "J06.900",
                    "dise_name": "Acute upper respiratory infection",
                },
                "diseinfo": [
                    {
                        "diag_type": "1",
                        "diag_srt_no": "1",
                        "diag_code": "J06.900",
                        "diag_name": "Acute upper respiratory infection",
                    }
                ],
            },
        )
    )
    result = upload(signed_in, employee, mdtrt_id)

    assert [
        (
            line["chrgitm_lv"],
            D(line["fulamt_ownpay_amt"]),
            D(line["preselfpay_amt"]),
            D(line["inscp_scp_amt"]),
            D(line["overlmt_amt"]),
        )
        for line in result
    ] == [
        ("01", D("0"), D("0"), D("300.00"), D("0")),
        ("02", D("0"), D("33.33"), D("300.00"), D("0")),
        ("03", D("29.97"), D("0"), D("0"), D("0")),
    ]
    for line in result:
        assert D(line["det_item_fee_sumamt"]) == (
            D(line["fulamt_ownpay_amt"]) + D(line["preselfpay_amt"]) + D(line["inscp_scp_amt"])
        )
    assert [D(line["selfpay_prop"]) for line in result] == [D("0"), D("0.1"), D("1")]

    before = ledger_state()
    quoted = ok(signed_in.send("2206", settlement_input(employee, mdtrt_id, presented)))
    assert ledger_state() == before
    assert quoted["setlinfo"]["setl_id"] == ""
    assert_adds_up(quoted["setlinfo"])

    # The REST settlement of the same visit, in a savepoint the test then rolls back.
    with transaction.atomic():
        rest = rest_settlement(signed_in, presented, mdtrt_id)
        transaction.set_rollback(True)
    assert ledger_state() == before

    answer = signed_in.send("2207", settlement_input(employee, mdtrt_id, presented))
    settled = ok(answer)
    setlinfo = settled["setlinfo"]
    # The person's account pays what it has; whether that left cash to collect is said apart.
    assert answer["extension"]["balance_insufficient"] is (
        D(setlinfo["balc"]) == 0 and D(setlinfo["psn_cash_pay"]) > 0
    )
    assert_adds_up(setlinfo)
    assert money_of(settled) == money_of(quoted)
    breakdown = rest["breakdown"]
    assert {
        "medfee_sumamt": breakdown["total"],
        "fulamt_ownpay_amt": breakdown["class_c_self_pay"],
        "preselfpay_amt": breakdown["class_b_self_pay"],
        "inscp_scp_amt": breakdown["eligible"],
        "act_pay_dedc": breakdown["deductible"],
        "hifp_pay": breakdown["pool"],
        "fund_pay_sumamt": breakdown["pool"],
        "psn_part_amt": breakdown["person_share"],
        "acct_pay": breakdown["personal_account"],
        "psn_cash_pay": breakdown["cash"],
        "balc": rest["personal_account"]["balance_after"],
    } == {
        name: f"{D(setlinfo[name]):.2f}"
        for name in (
            "medfee_sumamt",
            "fulamt_ownpay_amt",
            "preselfpay_amt",
            "inscp_scp_amt",
            "act_pay_dedc",
            "hifp_pay",
            "fund_pay_sumamt",
            "psn_part_amt",
            "acct_pay",
            "psn_cash_pay",
            "balc",
        )
    }
    assert D(setlinfo["pool_prop_selfpay"]) == D(rest["policy"]["reimbursement_ratio"])
    assert setlinfo["clr_optins"] == employee.city.code
    assert (setlinfo["clr_type"], setlinfo["clr_way"]) == ("11", "1")
    assert setlinfo["medins_setl_id"]
    settlement = Settlement.objects.get(pk=int(setlinfo["setl_id"]))
    assert settlement.visit_reference == mdtrt_id
    assert settlement.transfer.entries.get(account__person=employee).amount == -D(
        setlinfo["acct_pay"]
    )
    assert Visit.objects.get(mdtrt_id=mdtrt_id).is_settled
    assert settled["setldetail"] == [
        {
            "fund_pay_type": "310100",
            "fund_pay_type_name": "职工基本医疗保险统筹基金",
            "inscp_scp_amt": settled["setldetail"][0]["inscp_scp_amt"],
            "crt_payb_lmt_amt": settled["setldetail"][0]["crt_payb_lmt_amt"],
            "fund_payamt": setlinfo["fund_pay_sumamt"],
            "setl_proc_info": "",
        }
    ]


def test_a_reversal_gives_everything_back_and_a_second_one_is_refused(signed_in, employee, catalog):
    presented = evoucher(employee)
    mdtrt_id = register(signed_in, employee, presented)
    upload(signed_in, employee, mdtrt_id)
    before = ledger_state()
    setlinfo = ok(signed_in.send("2207", settlement_input(employee, mdtrt_id, presented)))[
        "setlinfo"
    ]
    reversal_input = {
        "data": {"psn_no": str(employee.pk), "mdtrt_id": mdtrt_id, "setl_id": setlinfo["setl_id"]}
    }

    reversed_ = ok(signed_in.send("2208", reversal_input))["setlinfo"]

    assert D(reversed_["medfee_sumamt"]) == -D(setlinfo["medfee_sumamt"])
    assert D(reversed_["acct_pay"]) == -D(setlinfo["acct_pay"])
    assert D(reversed_["balc"]) == D(setlinfo["balc"]) + D(setlinfo["acct_pay"])
    assert ledger_state() == before
    again = refused(signed_in.send("2208", reversal_input), "SETTLEMENT_ALREADY_REVERSED")
    assert "撤销" in again["err_msg"]
    # The visit is open again, with its fee lines: settled anew to the same figures.
    anew = ok(signed_in.send("2207", settlement_input(employee, mdtrt_id, evoucher(employee))))
    assert D(anew["setlinfo"]["medfee_sumamt"]) == D(setlinfo["medfee_sumamt"])
    assert D(anew["setlinfo"]["acct_pay"]) == D(setlinfo["acct_pay"])


def test_a_correction_after_a_lost_settlement_leaves_the_ledger_as_if_it_never_happened(
    signed_in, employee, catalog
):
    presented = evoucher(employee)
    mdtrt_id = register(signed_in, employee, presented)
    upload(signed_in, employee, mdtrt_id)
    before = ledger_state()
    lost = signed_in.envelope("2207", settlement_input(employee, mdtrt_id, presented))
    assert signed_in.post(lost).json()["infcode"] == 0  # the answer never reached the hospital
    assert ledger_state() != before

    correction = {"data": {"psn_no": str(employee.pk), "omsgid": lost["msgid"], "oinfno": "2207"}}
    corrected = ok(signed_in.send("2601", correction))

    assert corrected["crct_rslt"] == "1"
    assert ledger_state() == before
    assert not Visit.objects.get(mdtrt_id=mdtrt_id).is_settled
    # Safe to repeat: a second correction does nothing more.
    assert ok(signed_in.send("2601", correction))["crct_rslt"] == "2"
    assert ledger_state() == before


def test_corrections_of_a_registration_and_of_an_upload(signed_in, employee, catalog):
    mdtrt_id = register(signed_in, employee)
    upload_message = signed_in.envelope(
        "2204",
        {
            "feedetail": [
                {
                    "feedetl_sn": "1",
                    "mdtrt_id": mdtrt_id,
                    "med_list_codg": "FSI-A",
                    "det_item_fee_sumamt": "20.00",
                    "cnt": 2,
                    "pric": 10,
                }
            ]
        },
    )
    ok(signed_in.post(upload_message).json())

    ok(signed_in.send("2601", {"data": {"omsgid": upload_message["msgid"], "oinfno": "2204"}}))

    assert not VisitFeeLine.objects.filter(cancelled_at__isnull=True).exists()
    registration = signed_in.envelope("2201", {"data": {**card(employee), "ipt_otp_no": "MZ0002"}})
    second = ok(signed_in.post(registration).json())["data"]["mdtrt_id"]
    ok(signed_in.send("2601", {"data": {"omsgid": registration["msgid"], "oinfno": "2201"}}))
    assert Visit.objects.get(mdtrt_id=second).status == Visit.Status.CANCELLED
    assert Visit.objects.get(mdtrt_id=mdtrt_id).status == Visit.Status.OPEN


def test_fee_lines_cancelled_by_batch_or_all(signed_in, employee, catalog):
    mdtrt_id = register(signed_in, employee)
    upload(signed_in, employee, mdtrt_id, LINES[:2], batch="B1")
    upload(signed_in, employee, mdtrt_id, LINES[2:], batch="B2")
    cancel = {"data": {"mdtrt_id": mdtrt_id, "psn_no": str(employee.pk), "chrg_bchno": "B1"}}

    assert [line["feedetl_sn"] for line in ok(signed_in.send("2205", cancel))["result"]] == [
        "B1-1",
        "B1-2",
    ]
    refused(signed_in.send("2205", cancel), "FEE_LINE_NOT_FOUND")
    quote = ok(
        signed_in.send(
            "2206", settlement_input(employee, mdtrt_id, card(employee), acct_used_flag="0")
        )
    )
    assert D(quote["setlinfo"]["medfee_sumamt"]) == D("29.97")
    everything = {"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "0000"}}
    assert len(ok(signed_in.send("2205", everything))["result"]) == 1
    refused(
        signed_in.send(
            "2207", settlement_input(employee, mdtrt_id, card(employee), acct_used_flag="0")
        ),
        "VISIT_HAS_NO_FEE_LINES",
    )


def test_refusals_an_integrator_must_handle(signed_in, city, employee, card_not_activated, catalog):
    # Card not activated.
    refused(
        signed_in.send("2201", {"data": {**card(card_not_activated), "ipt_otp_no": "X1"}}),
        "CARD_NOT_ACTIVE",
    )
    # Not insured yet.
    future = PersonFactory(city=city, enrolled_on=clock.today() + timedelta(days=10))
    future.card = active_card(future)
    refused(
        signed_in.send("2201", {"data": {**card(future), "ipt_otp_no": "X2"}}),
        "NOT_YET_ENROLLED",
    )
    # Insured in another city, no filing for this one.
    visitor = PersonFactory(city=CityFactory(name="Elsewhere"))
    visitor.card = active_card(visitor)
    answer = refused(
        signed_in.send("2201", {"data": {**card(visitor), "ipt_otp_no": "X3"}}),
        "CROSS_CITY_FILING_REQUIRED",
    )
    assert answer["extension"]["how_to_file"]["endpoint"] == "/api/v1/filings"
    # An item the catalog does not have.
    mdtrt_id = register(signed_in, employee)
    unknown = refused(
        signed_in.send(
            "2204",
            {
                "feedetail": [
                    {
                        "feedetl_sn": "9",
                        "mdtrt_id": mdtrt_id,
                        "med_list_codg": "NOT-IN-CATALOG",
                        "det_item_fee_sumamt": 10,
                        "cnt": 1,
                        "pric": 10,
                    }
                ]
            },
        ),
        "CATALOG_ITEM_UNKNOWN",
    )
    assert unknown["extension"]["errors"][0]["field"] == "feedetail.0.med_list_codg"
    # A card pays from the account only with its PIN, which this interface does not carry.
    upload(signed_in, employee, mdtrt_id)
    refused(
        signed_in.send("2207", settlement_input(employee, mdtrt_id, card(employee))),
        "CARD_PIN_REQUIRED",
    )
    # A total other than the lines'.
    refused(
        signed_in.send(
            "2207",
            settlement_input(employee, mdtrt_id, evoucher(employee), medfee_sumamt="1.00"),
        ),
        "VISIT_TOTAL_MISMATCH",
    )
    assert Settlement.objects.count() == 0


def test_a_balance_that_does_not_cover_the_share_pays_all_it_has_and_cash_the_rest(
    signed_in, city, catalog
):
    person = PersonFactory(city=city)
    person.card = active_card(person)
    from settlement.tests.factories import activated_evoucher

    activated_evoucher(person)
    fund_personal_account(person, "5.00")
    presented = evoucher(person)
    mdtrt_id = register(signed_in, person, presented)
    upload(signed_in, person, mdtrt_id)

    answer = signed_in.send("2207", settlement_input(person, mdtrt_id, presented))
    setlinfo = ok(answer)["setlinfo"]

    assert answer["extension"]["balance_insufficient"] is True
    assert D(setlinfo["acct_pay"]) == D("5.00")
    assert D(setlinfo["balc"]) == 0
    assert D(setlinfo["psn_cash_pay"]) == D(setlinfo["psn_part_amt"]) - D("5.00") > 0
    assert_adds_up(setlinfo)


def test_a_repeated_msgid_settles_once_and_another_body_is_refused(signed_in, employee, catalog):
    presented = evoucher(employee)
    mdtrt_id = register(signed_in, employee, presented)
    upload(signed_in, employee, mdtrt_id)
    message = signed_in.envelope("2207", settlement_input(employee, mdtrt_id, presented))

    first = signed_in.post(message).json()
    again = signed_in.post(message).json()

    assert first["infcode"] == again["infcode"] == 0
    assert again["inf_refmsgid"] == first["inf_refmsgid"]
    assert again["output"] == first["output"]
    assert Settlement.objects.count() == 1
    other = dict(message, input=settlement_input(employee, mdtrt_id, presented, acct_used_flag="0"))
    refused(signed_in.post(other).json(), "MSGID_REUSED")
    assert Settlement.objects.count() == 1


def test_family_mutual_aid_is_acct_mulaid_pay_apart_from_acct_pay(
    signed_in, city, employee, catalog
):
    from settlement.services import family_authorization_grant
    from settlement.tests.factories import activated_evoucher
    from users.tests.factories import SuperuserFactory

    relative = PersonFactory(city=city)
    activated_evoucher(relative)
    family_authorization_grant(
        account_holder=employee, beneficiary=relative, relation="PARENT", by=SuperuserFactory()
    )
    holder_before = Account.objects.get(person=employee, kind=Account.Kind.PERSONAL).balance
    presented = evoucher(relative)
    mdtrt_id = register(signed_in, relative, presented)
    upload(signed_in, relative, mdtrt_id, LINES[:1])
    stranger = PersonFactory(city=city)
    refused(
        signed_in.send(
            "2206",
            settlement_input(relative, mdtrt_id, presented, acct_mulaid_psn_no=str(stranger.pk)),
        ),
        "FAMILY_AUTHORIZATION_MISSING",
    )

    answer = signed_in.send(
        "2207",
        settlement_input(relative, mdtrt_id, presented, acct_mulaid_psn_no=str(employee.pk)),
    )

    setlinfo = ok(answer)["setlinfo"]
    assert_adds_up(setlinfo)
    assert D(setlinfo["acct_pay"]) == 0
    assert D(setlinfo["acct_mulaid_pay"]) > 0
    holder_after = Account.objects.get(person=employee, kind=Account.Kind.PERSONAL).balance
    assert holder_before - holder_after == D(setlinfo["acct_mulaid_pay"])
    # The relative's own account is untouched: balc is theirs.
    own = Account.objects.filter(person=relative, kind=Account.Kind.PERSONAL).first()
    assert D(setlinfo["balc"]) == (own.balance if own else 0)


@pytest.mark.parametrize("cnt", ["1e3", "1E-2", "\u0661", "1_0", "0x10"])
def test_a_quantity_sent_as_text_is_plain_digits(signed_in, employee, catalog, cnt):
    mdtrt_id = register(signed_in, employee)
    code, _, _, pric = LINES[0]
    answer = signed_in.send(
        "2204",
        {
            "feedetail": [
                {
                    "feedetl_sn": "1",
                    "mdtrt_id": mdtrt_id,
                    "med_list_codg": code,
                    "det_item_fee_sumamt": "10.00",
                    "cnt": cnt,
                    "pric": pric,
                }
            ]
        },
    )
    assert answer["infcode"] != 0
    fields = [error["field"] for error in answer["extension"]["errors"]]
    assert fields == ["input.feedetail.0.cnt"]
