"""Records the documentation's example messages: each of the interface's own transactions sent
once from the demo world (the terminal hz-hospital, the person of BALANCE_VISIBLE presenting
their card). ``test_docs.py`` records them again and holds them to ``fsi/examples.py``; run
``python -m fsi.tests.examples_recording`` inside a test database to print them anew."""

from decimal import Decimal

from cards.models import SocialSecurityCard
from cards.services import evoucher_presentation_code_issue
from sandbox.demo import person_username
from users.models import User

from .conftest import Terminal


def demo_examples() -> dict[str, dict]:
    """Call after ``demo_world_build()``: infno to its {"request", "response"}."""
    terminal = Terminal(User.objects.get(username="hz-hospital"))
    person = User.objects.get(username=person_username("BALANCE_VISIBLE")).person
    card = SocialSecurityCard.objects.get(person=person, status=SocialSecurityCard.Status.ACTIVE)
    presented = {"mdtrt_cert_type": "03", "mdtrt_cert_no": card.number}
    examples: dict[str, dict] = {}

    def record(infno: str, input: dict) -> dict:
        request = terminal.envelope(infno, input)
        response = terminal.post(request).json()
        examples[infno] = {"request": request, "response": response}
        return request

    record("9001", {"signIn": {"opter_no": "0001", "mac": "00-1A-2B-3C-4D-5E", "ip": "10.0.0.8"}})
    terminal.sign_no = examples["9001"]["response"]["output"]["signinoutb"]["sign_no"]
    inquiry = record(
        "1101", {"data": {**presented, "card_sn": "", "psn_cert_type": "01", "certno": ""}}
    )
    record("5206", {"data": {**presented, "cum_ym": "202611"}})
    record(
        "3201",
        {
            "data": {
                "insutype": "310",
                "clr_type": "11",
                "setl_optins": "330100",
                "stmt_begndate": "2026-11-01",
                "stmt_enddate": "2026-11-30",
                "medfee_sumamt": 0,
                "fund_pay_sumamt": 0,
                "acct_pay": 0,
                "fixmedins_setl_cnt": 0,
            }
        },
    )
    record("2601", {"data": {"psn_no": "", "omsgid": inquiry["msgid"], "oinfno": "1101"}})
    _record_visits(record, examples, person, presented)
    record("9002", {"signOut": {"sign_no": terminal.sign_no, "opter_no": "0001"}})
    return examples


# The visits' lines: a class A, a class B and a class C drug of the starter catalog.
OUTPATIENT_LINES = [
    ("XJ01CAA040A001", "2", "18.50"),
    ("XC10AAA013B001", "1", "60.00"),
    ("XA11CCV004C001", "1", "25.00"),
]
INPATIENT_LINES = [
    ("S110900001", "5", "120.00"),
    ("XJ01DDC035B001", "6", "48.00"),
    ("S250101001", "2", "25.00"),
]


def _fee_lines(mdtrt_id: str, psn_no: str, lines, batch: str) -> dict:
    return {
        "feedetail": [
            {
                "feedetl_sn": f"{batch}-{number}",
                "mdtrt_id": mdtrt_id,
                "psn_no": psn_no,
                "chrg_bchno": batch,
                "med_list_codg": code,
                "medins_list_codg": f"HIS-{code}",
                "det_item_fee_sumamt": str(
                    (Decimal(cnt) * Decimal(pric)).quantize(Decimal("0.01"))
                ),
                "cnt": cnt,
                "pric": pric,
                "fee_ocur_time": "2026-11-02 09:10:00",
            }
            for number, (code, cnt, pric) in enumerate(lines, start=1)
        ]
    }


def _record_visits(record, examples: dict, person, card: dict) -> None:
    """An outpatient visit (2201 to 2208) and an inpatient stay (2401, 2301 to 2305, 2402, 2405,
    2404) of the same person: registered with the card, settled with the e-voucher's code."""
    psn_no = str(person.pk)

    def record_and_keep(infno: str, input: dict) -> dict:
        record(infno, input)
        response = examples[infno]["response"]
        assert response["infcode"] == 0, response
        return response["output"]

    def evoucher() -> dict:
        return {
            "mdtrt_cert_type": "01",
            "mdtrt_cert_no": evoucher_presentation_code_issue(person=person).code,
        }

    output = record_and_keep(
        "2201",
        {
            "data": {
                "psn_no": psn_no,
                "insutype": "310",
                "begntime": "2026-11-02 09:00:00",
                **card,
                "ipt_otp_no": "MZ20261102-0001",
                "atddr_no": "D0012",
                "dr_name": "Dr Wang",
                "dept_code": "A03",
                "dept_name": "Internal medicine",
                "caty": "A03",
            }
        },
    )
    mdtrt_id = output["data"]["mdtrt_id"]
    record_and_keep(
        "2203",
        {
            "mdtrtinfo": {
                "mdtrt_id": mdtrt_id,
                "psn_no": psn_no,
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
    record_and_keep("2204", _fee_lines(mdtrt_id, psn_no, OUTPATIENT_LINES[2:], "CF02"))
    record_and_keep(
        "2205", {"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "CF02", "psn_no": psn_no}}
    )
    record_and_keep("2204", _fee_lines(mdtrt_id, psn_no, OUTPATIENT_LINES, "CF01"))
    settle = {
        "psn_no": psn_no,
        "med_type": "11",
        "medfee_sumamt": "122.00",
        "psn_setlway": "01",
        "mdtrt_id": mdtrt_id,
        "chrg_bchno": "CF01",
        "insutype": "310",
        "acct_used_flag": "1",
    }
    record_and_keep("2206", {"data": {**settle, **evoucher()}})
    settled = record_and_keep("2207", {"data": {**settle, **evoucher()}})
    setl_id = settled["setlinfo"]["setl_id"]
    record_and_keep("2208", {"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "setl_id": setl_id}})
    record_and_keep("2202", {"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id, "ipt_otp_no": ""}})

    stay = record_and_keep(
        "2401",
        {
            "mdtrtinfo": {
                "psn_no": psn_no,
                "insutype": "310",
                "begntime": "2026-10-28 10:00:00",
                **card,
                "med_type": "21",
                "ipt_no": "ZY20261028-0007",
                "medrcdno": "BA0007",
                "atddr_no": "D0031",
                "adm_dept_codg": "A03",
                "dise_codg": "J18.900",
                "dise_name": "Pneumonia",
            },
            "diseinfo": [],
        },
    )["result"]["mdtrt_id"]
    record_and_keep("2301", _fee_lines(stay, psn_no, INPATIENT_LINES[2:], "ZY02"))
    record_and_keep("2302", {"data": {"mdtrt_id": stay, "feedetl_sn": "ZY02-1", "psn_no": psn_no}})
    record_and_keep("2301", _fee_lines(stay, psn_no, INPATIENT_LINES, "ZY01"))
    discharge = {
        "dscginfo": {
            "mdtrt_id": stay,
            "psn_no": psn_no,
            "insutype": "310",
            "endtime": "2026-11-02 08:30:00",
            "dise_codg": "J18.900",
            "dise_name": "Pneumonia",
            "dscg_way": "1",
        }
    }
    record_and_keep("2402", discharge)
    record_and_keep("2405", {"data": {"mdtrt_id": stay, "psn_no": psn_no}})
    record_and_keep("2402", discharge)
    settle_stay = {
        "psn_no": psn_no,
        "medfee_sumamt": "938.00",
        "psn_setlway": "01",
        "mdtrt_id": stay,
        "insutype": "310",
        "acct_used_flag": "1",
        "mid_setl_flag": "0",
    }
    record_and_keep("2303", {"data": {**settle_stay, **evoucher()}})
    stay_settled = record_and_keep("2304", {"data": {**settle_stay, **evoucher()}})
    record_and_keep(
        "2305",
        {
            "data": {
                "psn_no": psn_no,
                "mdtrt_id": stay,
                "setl_id": stay_settled["setlinfo"]["setl_id"],
            }
        },
    )
    record_and_keep("2404", {"data": {"mdtrt_id": stay, "psn_no": psn_no}})
