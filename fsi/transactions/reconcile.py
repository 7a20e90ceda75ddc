"""3201 reconciliation of the institution's totals for a period against this project's.

The project's figures are the institution's settlements in force (not reversed) settled from
``stmt_begndate`` to ``stmt_enddate`` (local days, both included), limited to the insured city
``setl_optins`` (its code) and the scheme ``insutype`` (310, 390) when sent: the total
(``medfee_sumamt``), the pooled funds' part (``fund_pay_sumamt``), the person's own personal
account's part (``acct_pay``) and their number (``fixmedins_setl_cnt``), the sums of the same
fields of each settlement's ``setlinfo``. ``stmt_rslt`` is 1 when the four sent agree with them
to the cent, 0 otherwise; ``stmt_totals`` gives the project's figures (and, not compared, what
relatives' accounts paid, ``acct_mulaid_pay``) and ``stmt_rslt_dscr`` names those that
disagree.
"""

from fsi import services
from fsi.inputs import InputReader
from fsi.registry import Call, transaction

_SCHEMES = {"310": "EMPLOYEE", "390": "RESIDENT"}
_FIGURES = {
    "medfee_sumamt": "医疗费总额",
    "fund_pay_sumamt": "基金支付总额",
    "acct_pay": "个人账户支付金额",
    "fixmedins_setl_cnt": "结算笔数",
}
AGREE, DISAGREE = "1", "0"


@transaction(
    "3201",
    name_zh="医药机构费用结算对总账",
    name_en="Reconciliation of the institution's totals",
    input_fields=(
        "data.insutype",
        "data.clr_type",
        "data.setl_optins",
        "data.stmt_begndate",
        "data.stmt_enddate",
        "data.medfee_sumamt",
        "data.fund_pay_sumamt",
        "data.acct_pay",
        "data.fixmedins_setl_cnt",
    ),
    output_fields=(
        "stmtinfo.setl_optins",
        "stmtinfo.stmt_rslt",
        "stmtinfo.stmt_rslt_dscr",
        "stmt_totals.medfee_sumamt",
        "stmt_totals.fund_pay_sumamt",
        "stmt_totals.acct_pay",
        "stmt_totals.fixmedins_setl_cnt",
        "stmt_totals.acct_mulaid_pay",
    ),
)
def reconcile(call: Call) -> dict:
    reader = InputReader(call)
    insutype = reader.text("insutype", longest=6, choices=set(_SCHEMES))
    reader.text("clr_type", longest=6)
    setl_optins = reader.text("setl_optins", longest=6)
    begin = reader.day("stmt_begndate", required=True)
    end = reader.day("stmt_enddate", required=True)
    sent = {
        "medfee_sumamt": reader.amount("medfee_sumamt", required=True),
        "fund_pay_sumamt": reader.amount("fund_pay_sumamt", required=True),
        "acct_pay": reader.amount("acct_pay", required=True),
        "fixmedins_setl_cnt": reader.count("fixmedins_setl_cnt", required=True),
    }
    if begin and end and begin > end:
        reader.error("stmt_enddate", "Not before stmt_begndate.")
    elif begin and end and (end - begin).days > 366:
        reader.error("stmt_enddate", "A period of at most 366 days.")
    reader.done()
    totals = services.institution_totals(
        institution=call.institution,
        begin=begin,
        end=end,
        setl_optins=setl_optins,
        scheme=_SCHEMES.get(insutype, ""),
    )
    ours = {name: getattr(totals, name) for name in _FIGURES}
    differing = [name for name in _FIGURES if sent[name] != ours[name]]
    if differing:
        description = "对账不平：" + "、".join(
            f"{_FIGURES[name]}（机构 {sent[name]}，平台 {ours[name]}）" for name in differing
        )
    else:
        description = "对账相符。"
    return {
        "stmtinfo": {
            "setl_optins": setl_optins,
            "stmt_rslt": DISAGREE if differing else AGREE,
            "stmt_rslt_dscr": description,
        },
        "stmt_totals": ours | {"acct_mulaid_pay": totals.acct_mulaid_pay},
    }
