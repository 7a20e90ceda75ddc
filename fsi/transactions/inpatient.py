"""Inpatient visits: admission (2401) and its cancellation (2404), discharge (2402) and its
cancellation (2405), fee lines (2301) and their cancellation (2302), pre-settlement (2303),
settlement (2304) and its reversal (2305), over ``settlement.visits``: the engine settles
inpatient visits with the insured city's inpatient rules (deductible, ratio, annual cap; no
outpatient quota), at hospitals only (a pharmacy is refused, ``VISIT_TYPE_NOT_OFFERED``).

An admission is a visit (``mdtrt_id``) settled once, after discharge (``VISIT_NOT_DISCHARGED``
before); mid-stay settlement is not offered (``mid_setl_flag`` 1 is refused). The credential,
the person, the answers and the codes are those of the outpatient transactions (see 2201 to
2208), with ``clr_type`` 21.
"""

from common.errors import DomainError, field_error
from fsi.error_codes import FsiErrorCode
from fsi.inputs import InputReader
from fsi.registry import Call, transaction
from fsi.services import psn_no_of
from fsi.transactions import outpatient
from fsi.transactions.outpatient import (
    FEE_LINE_INPUT,
    FEE_LINE_OUTPUT,
    SETTLEMENT_INPUT,
    SETTLEMENT_OUTPUT,
    moment_of,
    the_visit,
    undo_fee_lines,
    undo_registration,
    undo_settlement,
)
from settlement.models import VisitType
from settlement.visits import visit_discharge, visit_discharge_cancel


@transaction(
    "2401",
    name_zh="入院办理",
    name_en="Admission",
    input_fields=(
        "mdtrtinfo.psn_no",
        "mdtrtinfo.insutype",
        "mdtrtinfo.begntime",
        "mdtrtinfo.mdtrt_cert_type",
        "mdtrtinfo.mdtrt_cert_no",
        "mdtrtinfo.med_type",
        "mdtrtinfo.ipt_no",
        "mdtrtinfo.medrcdno",
        "mdtrtinfo.atddr_no",
        "mdtrtinfo.adm_dept_codg",
        "mdtrtinfo.dise_codg",
        "mdtrtinfo.dise_name",
    ),
    output_fields=("result.mdtrt_id", "result.psn_no", "result.ipt_otp_no"),
    undo=undo_registration,
)
def admit(call: Call) -> dict:
    """Admits the person presenting an e-voucher (01) or a card (03) and answers the stay's
    ``mdtrt_id``; ``ipt_no`` is the hospital's admission number. Refused as 2201 is (card not
    activated, insurance not started, no filing for this city, an admission number already
    open). Corrected by 2601: the admission is cancelled."""
    visit = outpatient.register(
        call, visit_type=VisitType.INPATIENT, number_field="ipt_no", member="mdtrtinfo"
    )
    return {
        "result": {
            "mdtrt_id": visit.mdtrt_id,
            "psn_no": psn_no_of(visit.person_id),
            "ipt_otp_no": visit.institution_visit_no,
        }
    }


@transaction(
    "2404",
    name_zh="入院办理撤销",
    name_en="Admission cancelled",
    input_fields=("data.mdtrt_id", "data.psn_no"),
    output_fields=("data.mdtrt_id", "data.vali_flag"),
)
def admission_cancel(call: Call) -> dict:
    """Cancels an admission and its live fee lines; refused once settled (``VISIT_SETTLED``)."""
    visit = outpatient.registration_cancel(call)
    return {"data": {"mdtrt_id": visit.mdtrt_id, "vali_flag": "0"}}


@transaction(
    "2402",
    name_zh="出院办理",
    name_en="Discharge",
    input_fields=(
        "dscginfo.mdtrt_id",
        "dscginfo.psn_no",
        "dscginfo.insutype",
        "dscginfo.endtime",
        "dscginfo.dise_codg",
        "dscginfo.dise_name",
        "dscginfo.dscg_way",
    ),
    output_fields=("data.mdtrt_id", "data.endtime"),
)
def discharge(call: Call) -> dict:
    """Discharges the person (``endtime``, else now): the stay may then be settled. Refused for
    an outpatient visit (``VISIT_NOT_INPATIENT``) or a second time (``VISIT_ALREADY_DISCHARGED``)."""
    reader = InputReader(call, "dscginfo")
    ended_at = moment_of(reader, "endtime")
    for name in ("insutype", "dise_codg", "dise_name", "dscg_way", "dscg_dept_codg"):
        reader.text(name, longest=255)
    visit = the_visit(call, reader)
    visit = visit_discharge(visit=visit, discharged_at=ended_at, now=call.now)
    return {"data": {"mdtrt_id": visit.mdtrt_id, "endtime": visit.discharged_at}}


@transaction(
    "2405",
    name_zh="出院撤销",
    name_en="Discharge cancelled",
    input_fields=("data.mdtrt_id", "data.psn_no"),
    output_fields=("data.mdtrt_id",),
)
def discharge_cancel(call: Call) -> dict:
    """Takes a discharge back (the person stays in); refused once the stay is settled."""
    visit = the_visit(call, InputReader(call))
    visit = visit_discharge_cancel(visit=visit, now=call.now)
    return {"data": {"mdtrt_id": visit.mdtrt_id}}


@transaction(
    "2301",
    name_zh="住院费用明细上传",
    name_en="Inpatient fee lines uploaded",
    input_fields=FEE_LINE_INPUT,
    output_fields=FEE_LINE_OUTPUT,
    undo=undo_fee_lines,
)
def inpatient_fee_lines(call: Call) -> dict:
    """Adds fee lines to an unsettled stay, answered per line as 2204 answers them. Corrected by
    2601: the lines are cancelled."""
    visit, figures = outpatient.fee_lines_upload(call)
    return outpatient.fee_line_answers(visit, figures)


@transaction(
    "2302",
    name_zh="住院费用明细撤销",
    name_en="Inpatient fee lines cancelled",
    input_fields=("data.mdtrt_id", "data.feedetl_sn", "data.chrg_bchno", "data.psn_no"),
    output_fields=("result[].feedetl_sn",),
)
def inpatient_fee_lines_cancel(call: Call) -> dict:
    """Cancels one fee line (``feedetl_sn``), a charge batch (``chrg_bchno``) or every line
    ("0000") of an unsettled stay."""
    _visit, cancelled = outpatient.fee_lines_cancel(call)
    return {"result": [{"feedetl_sn": line.feedetl_sn} for line in cancelled]}


def _whole_stay(call: Call) -> None:
    """Only the whole stay is settled here: a mid-stay settlement is refused."""
    data = call.input.get("data") if isinstance(call.input.get("data"), dict) else call.input
    if str(data.get("mid_setl_flag") or "0").strip() not in ("", "0"):
        raise DomainError(
            FsiErrorCode.INPUT_INVALID,
            "Mid-stay settlement is not offered: discharge (2402), then settle the whole stay.",
            errors=[field_error("input.data.mid_setl_flag", "Only 0.")],
        )


INPATIENT_SETTLEMENT_INPUT = (*SETTLEMENT_INPUT, "data.mid_setl_flag")


@transaction(
    "2303",
    name_zh="住院预结算",
    name_en="Inpatient pre-settlement",
    input_fields=INPATIENT_SETTLEMENT_INPUT,
    output_fields=SETTLEMENT_OUTPUT,
)
def inpatient_pre_settle(call: Call) -> dict:
    """Computes the settlement of the stay's live fee lines as 2304 would now, posting nothing."""
    _whole_stay(call)
    return outpatient.pre_settle(call)


@transaction(
    "2304",
    name_zh="住院结算",
    name_en="Inpatient settlement",
    input_fields=INPATIENT_SETTLEMENT_INPUT,
    output_fields=SETTLEMENT_OUTPUT,
    undo=undo_settlement,
)
def inpatient_settle(call: Call) -> dict:
    """Settles a discharged stay's live fee lines in one balanced transfer, as 2207 does an
    outpatient visit; before discharge, ``VISIT_NOT_DISCHARGED``. Corrected by 2601: the
    settlement is reversed."""
    _whole_stay(call)
    return outpatient.settle(call)


@transaction(
    "2305",
    name_zh="住院结算撤销",
    name_en="Inpatient settlement reversed",
    input_fields=("data.psn_no", "data.mdtrt_id", "data.setl_id"),
    output_fields=SETTLEMENT_OUTPUT,
)
def inpatient_settlement_reverse(call: Call) -> dict:
    """Reverses a settlement of the stay as 2208 does; a second reversal answers
    ``SETTLEMENT_ALREADY_REVERSED``."""
    return outpatient.reverse(call)
