"""Outpatient visits: registration (2201) and its cancellation (2202), visit information (2203),
fee lines (2204) and their cancellation (2205), pre-settlement (2206), settlement (2207) and its
reversal (2208), over ``settlement.visits`` (the same settlement engine as the REST API).

The person is the one whose e-voucher (``mdtrt_cert_type`` 01, its current code) or social
security card (03, its number) is presented; ``psn_no`` (from 1101), when sent, must be theirs.
``mdtrt_id`` is given by 2201 and names the visit in every later message. ``med_list_codg`` is a
code of this project's catalog (``GET /api/v1/catalog``).

Paying from the personal account (``acct_used_flag`` 1) with a card needs the cardholder's PIN,
which this interface does not carry: it is refused (``CARD_PIN_REQUIRED``); present the
e-voucher, or settle in cash (``acct_used_flag`` 0). ``acct_mulaid_psn_no`` (this project's
addition) names the relative whose personal account pays under family mutual aid; what it pays is
``acct_mulaid_pay``, apart from ``acct_pay`` (the person's own account). A personal account that
does not cover the person's share pays its whole balance and the rest is ``psn_cash_pay``, for
the institution to collect: ``balc`` is then 0.

Money is answered as JSON numbers (the envelope's rule). Figures follow the engine exactly:
``medfee_sumamt`` = ``fulamt_ownpay_amt`` (class C) + ``preselfpay_amt`` (class B's first share)
+ ``inscp_scp_amt`` (within the policy's scope) = ``fund_pay_sumamt`` + ``acct_pay`` +
``acct_mulaid_pay`` + ``psn_cash_pay``. Codes: ``chrgitm_lv`` 01 class A, 02 class B, 03 class C;
``clr_type`` 11 outpatient, 21 inpatient, 41 pharmacy; ``clr_way`` 1 (by item, the engine's only
way); ``clr_optins`` the insured city's code; ``fund_pay_type`` 310100 employees' pooled fund,
390100 residents' pooled fund; ``pool_prop_selfpay`` the fund's ratio applied. What the project
does not model is answered with its neutral value: ``overlmt_selfpay``, ``overlmt_amt``,
``hosp_part_amt``, ``cvlserv_pay``, ``hifes_pay``, ``hifmi_pay``, ``hifob_pay``, ``maf_pay``,
``oth_pay`` and ``pric_uplmt_amt`` 0 (no price caps, no supplementary funds), the line flags
"0", ``med_chrgitm_type`` and ``memo`` "".
"""

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from accounts.models import Account
from cards.credentials import PresentedCredential
from common import clock
from common.errors import DomainError, field_error
from common.money import ZERO
from fsi import services
from fsi.error_codes import FsiErrorCode
from fsi.inputs import InputReader
from fsi.registry import Call, Output, transaction
from fsi.transactions.person import insutype_of, psn_type_of
from institutions.models import Institution
from persons.models import InsuredPerson
from settlement.error_codes import SettlementErrorCode
from settlement.models import Settlement, Visit, VisitType
from settlement.selectors import visit_of
from settlement.visits import (
    FeeLineFigures,
    FeeLineInput,
    visit_cancel,
    visit_describe,
    visit_fee_lines_cancel,
    visit_fee_lines_upload,
    visit_quote,
    visit_register,
    visit_settle,
    visit_settlement_reverse,
)

CERT_TYPES = (services.CERT_EVOUCHER, services.CERT_RESIDENT_ID, services.CERT_CARD)
INSUTYPES = ("310", "390")
ALL_LINES = "0000"
CHRGITM_LV = {"A": "01", "B": "02", "C": "03"}
FUND_PAY_TYPE = {
    Account.Kind.EMPLOYEE_POOL: ("310100", "职工基本医疗保险统筹基金"),
    Account.Kind.RESIDENT_POOL: ("390100", "城乡居民基本医疗保险基金"),
    Account.Kind.OUTPATIENT_POOL: ("390100", "城乡居民基本医疗保险基金"),
}
CLEARING_BY_ITEM = "1"
MIN_YEAR, MAX_YEAR = 1900, 2999
# The longest number an id (psn_no, setl_id) can be here: a PostgreSQL bigint has 19 digits.
LONGEST_ID = 18


class ItemReader(InputReader):
    """Reads one object of a list in the input (``feedetail[i]``, ``diseinfo[i]``)."""

    def __init__(self, item: dict, prefix: str) -> None:
        self.data, self.prefix, self.errors = item, prefix, []


# A number sent as text: ASCII digits and one point. Decimal() alone would also read "1e3",
# "1_000" and other scripts' digits.
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def decimal_of(reader: InputReader, name: str, *, required: bool = False) -> Decimal | None:
    """A number or its text (the engine checks its range and places)."""
    value = reader.data.get(name)
    if value is None or value == "":
        if required:
            reader.error(name, "This field is required.", "required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        reader.error(name, "Must be a number.", "type")
        return None
    if isinstance(value, str) and not _DECIMAL_TEXT.fullmatch(value.strip()):
        reader.error(name, "Must be a number.", "invalid")
        return None
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        reader.error(name, "Must be a number.", "invalid")
        return None
    if not number.is_finite():
        reader.error(name, "Must be a number.", "invalid")
        return None
    return number


def moment_of(reader: InputReader, name: str):
    """A local time, ``yyyy-MM-dd HH:mm:ss`` (or a day), as an aware datetime; None if absent."""
    value = reader.text(name, longest=19)
    if not value:
        return None
    for layout in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(value, layout)
        except ValueError:
            continue
        if not MIN_YEAR <= moment.year <= MAX_YEAR:
            break
        return timezone.make_aware(moment)
    reader.error(name, f"A time, yyyy-MM-dd HH:mm:ss, from {MIN_YEAR} to {MAX_YEAR}.", "invalid")
    return None


def presented_person(reader: InputReader) -> PresentedCredential | None:
    """The credential the message presents (checked once the reader is done)."""
    cert_type = reader.text("mdtrt_cert_type", required=True, longest=3, choices=CERT_TYPES)
    cert_no = reader.text("mdtrt_cert_no", required=True, longest=100)
    psn_no = reader.text("psn_no", longest=30)
    reader.text("insutype", longest=6, choices=INSUTYPES)
    reader.done()
    credential = services.presented(cert_type=cert_type, cert_no=cert_no)
    if psn_no and psn_no != services.psn_no_of(credential.person_id):
        raise _person_mismatch(reader, "psn_no")
    return credential


def _person_mismatch(reader: InputReader, field: str) -> DomainError:
    return DomainError(
        FsiErrorCode.PERSON_MISMATCH,
        f"{field} is not that of the person whose credential is presented.",
        errors=[field_error(reader.prefix + field, "Not the presented person's.")],
    )


def the_visit(call: Call, reader: InputReader, *, field: str = "mdtrt_id") -> Visit:
    """The institution's visit the message names; ``psn_no``, when sent, must be its person's."""
    mdtrt_id = reader.text(field, required=True, longest=30)
    psn_no = reader.text("psn_no", longest=30)
    reader.done()
    visit = visit_of(institution_id=call.institution.pk, mdtrt_id=mdtrt_id)
    if psn_no and psn_no != services.psn_no_of(visit.person_id):
        raise _person_mismatch(reader, "psn_no")
    return visit


def _insutype_check(reader: InputReader, person: InsuredPerson) -> None:
    insutype = reader.data.get("insutype")
    if insutype not in (None, "") and str(insutype).strip() != insutype_of(person):
        raise _person_mismatch(reader, "insutype")


# --- Registration ---------------------------------------------------------------------------


def register(call: Call, *, visit_type: str, number_field: str, member: str = "data") -> Visit:
    """Register a visit of ``visit_type`` for the presented person (2201; 2401 reads
    ``mdtrtinfo``)."""
    reader = InputReader(call, member)
    number = reader.text(number_field, required=True, longest=30)
    med_type = reader.text("med_type", longest=6)
    begun_at = moment_of(reader, "begntime")
    for name in ("atddr_no", "dr_name", "dept_code", "dept_name", "caty", "medrcdno"):
        reader.text(name, longest=100)
    credential = presented_person(reader)
    person = InsuredPerson.objects.select_related("city").get(pk=credential.person_id)
    _insutype_check(reader, person)
    return visit_register(
        institution=call.institution,
        credential=credential,
        visit_type=visit_type,
        institution_visit_no=number,
        med_type=med_type,
        begun_at=begun_at,
        by=call.user,
        now=call.now,
    )


def registration_cancel(call: Call) -> Visit:
    """Cancel the visit a message names (2202, 2404)."""
    reader = InputReader(call)
    reader.text("ipt_otp_no", longest=30)
    reader.text("ipt_no", longest=30)
    visit = the_visit(call, reader)
    return visit_cancel(visit=visit, by=call.user, now=call.now)


def undo_registration(call: Call, original: dict) -> dict:
    """2601 of a registration: the visit is cancelled (already cancelled: nothing more to do)."""
    registered = original.get("data") or original.get("result") or {}
    mdtrt_id = registered.get("mdtrt_id", "") if isinstance(registered, dict) else ""
    visit = visit_of(institution_id=call.institution.pk, mdtrt_id=mdtrt_id)
    if visit.status == Visit.Status.CANCELLED:
        return {"mdtrt_id": mdtrt_id, "vali_flag": "0", "already_cancelled": True}
    visit_cancel(visit=visit, by=call.user, now=call.now)
    return {"mdtrt_id": mdtrt_id, "vali_flag": "0", "already_cancelled": False}


@transaction(
    "2201",
    name_zh="门诊挂号",
    name_en="Outpatient registration",
    input_fields=(
        "data.psn_no",
        "data.insutype",
        "data.begntime",
        "data.mdtrt_cert_type",
        "data.mdtrt_cert_no",
        "data.ipt_otp_no",
        "data.atddr_no",
        "data.dr_name",
        "data.dept_code",
        "data.dept_name",
        "data.caty",
    ),
    output_fields=("data.mdtrt_id", "data.psn_no", "data.ipt_otp_no"),
    undo=undo_registration,
)
def outpatient_register(call: Call) -> dict:
    """Registers an outpatient visit for the person presenting an e-voucher (01) or a card (03)
    and answers its ``mdtrt_id``. Refused as settling would be for who the person is: a card not
    activated (``CARD_NOT_ACTIVE``), insurance not started (``NOT_YET_ENROLLED``), a person
    insured elsewhere without a filing for this city (``CROSS_CITY_FILING_REQUIRED``), an
    ``ipt_otp_no`` already open here (``VISIT_NUMBER_IN_USE``). Corrected by 2601: the visit is
    cancelled."""
    visit = register(call, visit_type=VisitType.OUTPATIENT, number_field="ipt_otp_no")
    return {
        "data": {
            "mdtrt_id": visit.mdtrt_id,
            "psn_no": services.psn_no_of(visit.person_id),
            "ipt_otp_no": visit.institution_visit_no,
        }
    }


@transaction(
    "2202",
    name_zh="门诊挂号撤销",
    name_en="Outpatient registration cancelled",
    input_fields=("data.psn_no", "data.mdtrt_id", "data.ipt_otp_no"),
    output_fields=("data.mdtrt_id", "data.vali_flag"),
)
def outpatient_register_cancel(call: Call) -> dict:
    """Cancels a registration and its live fee lines; refused once the visit is settled
    (``VISIT_SETTLED``: reverse it with 2208 first) or if already cancelled
    (``VISIT_CANCELLED``)."""
    visit = registration_cancel(call)
    return {"data": {"mdtrt_id": visit.mdtrt_id, "vali_flag": "0"}}


# --- Visit information ----------------------------------------------------------------------


def describe(call: Call) -> Visit:
    """Record a visit's medical category and main diagnosis (2203, 2401's diagnoses)."""
    info = call.input.get("mdtrtinfo")
    reader = ItemReader(info if isinstance(info, dict) else {}, "input.mdtrtinfo.")
    med_type = reader.text("med_type", longest=6)
    code = reader.text("dise_codg", longest=30)
    name = reader.text("dise_name", longest=255)
    for field in ("begntime", "main_cond_dscr", "birctrl_type", "matn_type"):
        reader.text(field, longest=500)
    diagnoses = call.input.get("diseinfo")
    if isinstance(diagnoses, list) and not code:
        main = next(
            (d for d in diagnoses if isinstance(d, dict) and str(d.get("diag_srt_no")) == "1"),
            None,
        )
        if main is not None:
            code = str(main.get("diag_code") or "")[:30]
            name = str(main.get("diag_name") or "")[:255]
    visit = the_visit(call, reader)
    return visit_describe(
        visit=visit, med_type=med_type, diagnosis_code=code, diagnosis_name=name, now=call.now
    )


@transaction(
    "2203",
    name_zh="门诊就诊信息上传",
    name_en="Outpatient visit information",
    input_fields=(
        "mdtrtinfo.mdtrt_id",
        "mdtrtinfo.psn_no",
        "mdtrtinfo.med_type",
        "mdtrtinfo.begntime",
        "mdtrtinfo.main_cond_dscr",
        "mdtrtinfo.dise_codg",
        "mdtrtinfo.dise_name",
        "diseinfo[].diag_type",
        "diseinfo[].diag_srt_no",
        "diseinfo[].diag_code",
        "diseinfo[].diag_name",
    ),
    output_fields=("data.mdtrt_id", "data.med_type", "data.dise_codg", "data.dise_name"),
)
def outpatient_describe(call: Call) -> dict:
    """Records the visit's medical category (``med_type``) and main diagnosis (``dise_codg``, or
    the ``diseinfo`` entry numbered 1); the last message counts. Refused for a cancelled visit."""
    visit = describe(call)
    return {
        "data": {
            "mdtrt_id": visit.mdtrt_id,
            "med_type": visit.med_type,
            "dise_codg": visit.diagnosis_code,
            "dise_name": visit.diagnosis_name,
        }
    }


# --- Fee lines ------------------------------------------------------------------------------


def _fee_lines_read(call: Call) -> tuple[str, str, list[FeeLineInput]]:
    """The upload's visit (every line names the same one), its psn_no and its lines."""
    raw = call.input.get("feedetail")
    outer = InputReader(call, "feedetail")
    if not isinstance(raw, list) or not raw:
        outer.error("feedetail", "A non-empty list of fee lines.", "required")
        outer.done()
    lines, visits, persons, errors = [], set(), set(), []
    for index, item in enumerate(raw):
        reader = ItemReader(item if isinstance(item, dict) else {}, f"input.feedetail.{index}.")
        visits.add(reader.text("mdtrt_id", required=True, longest=30))
        persons.add(reader.text("psn_no", longest=30))
        lines.append(
            FeeLineInput(
                feedetl_sn=reader.text("feedetl_sn", required=True, longest=30),
                code=reader.text("med_list_codg", required=True, longest=50),
                institution_item_code=reader.text("medins_list_codg", longest=50),
                charge_batch_no=reader.text("chrg_bchno", longest=30),
                quantity=decimal_of(reader, "cnt", required=True),
                unit_price=decimal_of(reader, "pric", required=True),
                amount=decimal_of(reader, "det_item_fee_sumamt", required=True),
            )
        )
        errors += reader.errors
    if len(visits - {""}) > 1:
        errors.append({"field": "input.feedetail", "message": "One mdtrt_id per upload."})
    outer.errors = errors
    outer.done()
    return visits.pop(), next(iter(persons - {""}), ""), lines


def fee_lines_upload(call: Call) -> tuple[Visit, list[FeeLineFigures]]:
    """Upload fee lines to the visit they name (2204, 2301)."""
    mdtrt_id, psn_no, lines = _fee_lines_read(call)
    visit = visit_of(institution_id=call.institution.pk, mdtrt_id=mdtrt_id)
    if psn_no and psn_no != services.psn_no_of(visit.person_id):
        raise _person_mismatch(ItemReader({}, "input.feedetail.0."), "psn_no")
    return visit, visit_fee_lines_upload(visit=visit, lines=lines, by=call.user, now=call.now)


def fee_line_answers(visit: Visit, figures: list[FeeLineFigures]) -> dict:
    return {
        "result": [
            {
                "feedetl_sn": figure.line.feedetl_sn,
                "mdtrt_id": visit.mdtrt_id,
                "det_item_fee_sumamt": figure.figures.amount,
                "cnt": figure.line.quantity,
                "pric": figure.line.unit_price,
                "pric_uplmt_amt": ZERO,
                "selfpay_prop": figure.self_pay_ratio,
                "fulamt_ownpay_amt": figure.figures.amount if figure.catalog_class == "C" else ZERO,
                "overlmt_amt": ZERO,
                "preselfpay_amt": figure.figures.self_pay_amount
                if figure.catalog_class == "B"
                else ZERO,
                "inscp_scp_amt": figure.figures.eligible_amount,
                "chrgitm_lv": CHRGITM_LV[figure.catalog_class],
                "med_chrgitm_type": "",
                "bas_medn_flag": "0",
                "hi_nego_drug_flag": "0",
                "chld_medc_flag": "0",
                "list_sp_item_flag": "0",
                "lmt_used_flag": "0",
                "drt_reim_flag": "0",
                "memo": "",
            }
            for figure in figures
        ]
    }


def fee_lines_cancel(call: Call) -> tuple[Visit, list]:
    """Cancel a visit's fee lines (2205, 2302): a charge batch (``chrg_bchno``), one line
    (``feedetl_sn``), or all of them (either one "0000")."""
    reader = InputReader(call)
    batch = reader.text("chrg_bchno", longest=30)
    number = reader.text("feedetl_sn", longest=30)
    if not batch and not number:
        reader.error("chrg_bchno", "A charge batch, or 0000 for every line.", "required")
    visit = the_visit(call, reader)
    everything = ALL_LINES in (batch, number)
    cancelled = visit_fee_lines_cancel(
        visit=visit,
        numbers=None if everything or not number else [number],
        charge_batch_no="" if everything else batch,
        now=call.now,
    )
    return visit, cancelled


def undo_fee_lines(call: Call, original: dict) -> dict:
    """2601 of an upload: the lines it added are cancelled (those still live)."""
    result = [line for line in original.get("result") or [] if isinstance(line, dict)]
    if not result:
        return {"result": []}
    visit = visit_of(institution_id=call.institution.pk, mdtrt_id=result[0].get("mdtrt_id", ""))
    cancelled = visit_fee_lines_cancel(
        visit=visit,
        numbers=[str(line.get("feedetl_sn", "")) for line in result],
        missing_ok=True,
        now=call.now,
    )
    return {"result": [{"feedetl_sn": line.feedetl_sn} for line in cancelled]}


FEE_LINE_INPUT = (
    "feedetail[].feedetl_sn",
    "feedetail[].mdtrt_id",
    "feedetail[].psn_no",
    "feedetail[].chrg_bchno",
    "feedetail[].med_list_codg",
    "feedetail[].medins_list_codg",
    "feedetail[].det_item_fee_sumamt",
    "feedetail[].cnt",
    "feedetail[].pric",
)
FEE_LINE_OUTPUT = (
    "result[].feedetl_sn",
    "result[].mdtrt_id",
    "result[].det_item_fee_sumamt",
    "result[].cnt",
    "result[].pric",
    "result[].pric_uplmt_amt",
    "result[].selfpay_prop",
    "result[].fulamt_ownpay_amt",
    "result[].overlmt_amt",
    "result[].preselfpay_amt",
    "result[].inscp_scp_amt",
    "result[].chrgitm_lv",
    "result[].med_chrgitm_type",
    "result[].bas_medn_flag",
    "result[].hi_nego_drug_flag",
    "result[].chld_medc_flag",
    "result[].list_sp_item_flag",
    "result[].lmt_used_flag",
    "result[].drt_reim_flag",
    "result[].memo",
)


@transaction(
    "2204",
    name_zh="门诊费用明细信息上传",
    name_en="Outpatient fee lines uploaded",
    input_fields=FEE_LINE_INPUT,
    output_fields=FEE_LINE_OUTPUT,
    undo=undo_fee_lines,
)
def outpatient_fee_lines(call: Call) -> dict:
    """Adds fee lines to an open, unsettled visit and answers how the insured city's policy
    splits each: class C (``chrgitm_lv`` 03) all ``fulamt_ownpay_amt``, class B (02) its first
    share ``preselfpay_amt`` at ``selfpay_prop``, the rest ``inscp_scp_amt``. Refused: a code not
    in the catalog (``CATALOG_ITEM_UNKNOWN``, every such line in ``errors``), a total other than
    ``cnt`` x ``pric`` (``FEE_LINE_AMOUNT_MISMATCH``), a ``feedetl_sn`` already live on the visit
    (``FEE_LINE_DUPLICATE``), a settled visit (``VISIT_SETTLED``). Corrected by 2601: the lines
    are cancelled."""
    visit, figures = fee_lines_upload(call)
    return fee_line_answers(visit, figures)


@transaction(
    "2205",
    name_zh="门诊费用明细信息撤销",
    name_en="Outpatient fee lines cancelled",
    input_fields=("data.mdtrt_id", "data.chrg_bchno", "data.feedetl_sn", "data.psn_no"),
    output_fields=("result[].feedetl_sn",),
)
def outpatient_fee_lines_cancel(call: Call) -> dict:
    """Cancels a charge batch's live lines (``chrg_bchno``), one line (``feedetl_sn``, this
    project's addition) or every line ("0000"), while the visit is unsettled; a batch or line with
    no live line answers ``FEE_LINE_NOT_FOUND``."""
    _visit, cancelled = fee_lines_cancel(call)
    return {"result": [{"feedetl_sn": line.feedetl_sn} for line in cancelled]}


# --- Settlement -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SettlementAsked:
    visit: Visit
    credential: PresentedCredential
    cert_type: str
    use_personal_account: bool
    family_account_holder_id: int | None
    expected_total: Decimal | None


def settlement_asked(call: Call, *, account_flag_required: bool) -> SettlementAsked:
    """The visit, the presented person and how they pay, as 2206/2207 (2303/2304) send them."""
    reader = InputReader(call)
    mdtrt_id = reader.text("mdtrt_id", required=True, longest=30)
    flag = reader.text(
        "acct_used_flag", required=account_flag_required, longest=1, choices=("0", "1")
    )
    expected_total = reader.amount("medfee_sumamt")
    holder_psn_no = reader.text("acct_mulaid_psn_no", longest=30)
    for name in ("med_type", "psn_setlway", "chrg_bchno", "invono", "mid_setl_flag"):
        reader.text(name, longest=30)
    for name in ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt"):
        reader.amount(name)
    cert_type = str(reader.data.get("mdtrt_cert_type") or "")
    credential = presented_person(reader)
    visit = visit_of(institution_id=call.institution.pk, mdtrt_id=mdtrt_id)
    _insutype_check(reader, visit.person)
    holder_id = None
    if holder_psn_no:
        if not holder_psn_no.isdigit() or len(holder_psn_no) > LONGEST_ID:
            raise DomainError(
                SettlementErrorCode.FAMILY_AUTHORIZATION_MISSING,
                errors=[field_error(reader.prefix + "acct_mulaid_psn_no", "No such holder.")],
            )
        holder_id = int(holder_psn_no)
    return SettlementAsked(
        visit=visit,
        credential=credential,
        cert_type=cert_type,
        use_personal_account=flag != "0" if flag else True,
        family_account_holder_id=holder_id,
        expected_total=expected_total,
    )


def _own_balance(person_id: int) -> Decimal:
    balance = (
        Account.objects.filter(person_id=person_id, kind=Account.Kind.PERSONAL)
        .values_list("row_balance", flat=True)  # a personal account is never striped
        .first()
    )
    return ZERO if balance is None else balance


def _fund_room(settlement: Settlement) -> Decimal:
    """What the fund could still pay this person before this settlement (cap, then quota)."""
    room = max(ZERO, settlement.annual_cap - settlement.pool_paid_before)
    if settlement.outpatient_quota is not None:
        used = settlement.outpatient_pool_paid_before or ZERO
        room = min(room, max(ZERO, settlement.outpatient_quota - used))
    return room


def clearing_type(institution: Institution, visit_type: str) -> str:
    if visit_type == VisitType.INPATIENT:
        return "21"
    return "41" if institution.kind == Institution.Kind.PHARMACY else "11"


def _signed(amount: Decimal, sign: int) -> Decimal:
    """The amount, negated for a reversal (a zero stays 0, never -0)."""
    return -amount if sign == -1 and amount else amount


def setlinfo_of(
    settlement: Settlement, *, visit: Visit, cert_type: str, msgid: str, sign: int = 1
) -> dict:
    """The national ``setlinfo`` of a settlement (quoted, made, or reversed with ``sign`` -1)."""
    person = visit.person
    by_relative = settlement.family_authorization_id is not None
    account = settlement.personal_account_amount
    if settlement.paying_account_id is not None and not by_relative and sign == 1:
        balance = settlement.personal_account_balance_after
    else:
        balance = _own_balance(person.pk)
    today = clock.localdate(settlement.settled_at)
    return {
        "mdtrt_id": visit.mdtrt_id,
        "setl_id": "" if settlement.pk is None else str(settlement.pk),
        "psn_no": services.psn_no_of(person.pk),
        "psn_name": person.name,
        "psn_cert_type": "01",
        "certno": person.resident_id,
        "gend": {"M": "1", "F": "2"}.get(person.sex, "9"),
        "naty": "",
        "brdy": person.birth_date,
        "age": today.year
        - person.birth_date.year
        - ((today.month, today.day) < (person.birth_date.month, person.birth_date.day)),
        "insutype": insutype_of(person),
        "psn_type": psn_type_of(person),
        "cvlserv_flag": "0",
        "setl_time": settlement.reversed_at if sign == -1 else settlement.settled_at,
        "mdtrt_cert_type": cert_type,
        "med_type": visit.med_type,
        "medfee_sumamt": _signed(settlement.total_amount, sign),
        "fulamt_ownpay_amt": _signed(settlement.class_c_amount, sign),
        "overlmt_selfpay": ZERO,
        "preselfpay_amt": _signed(settlement.class_b_self_pay_amount, sign),
        "inscp_scp_amt": _signed(settlement.eligible_amount, sign),
        "act_pay_dedc": _signed(settlement.deductible_amount, sign),
        "hifp_pay": _signed(settlement.pool_amount, sign),
        "pool_prop_selfpay": settlement.reimbursement_ratio,
        "cvlserv_pay": ZERO,
        "hifes_pay": ZERO,
        "hifmi_pay": ZERO,
        "hifob_pay": ZERO,
        "maf_pay": ZERO,
        "oth_pay": ZERO,
        "fund_pay_sumamt": _signed(settlement.pool_amount, sign),
        "psn_part_amt": _signed(settlement.person_share, sign),
        "acct_pay": ZERO if by_relative else _signed(account, sign),
        "psn_cash_pay": _signed(settlement.cash_amount, sign),
        "hosp_part_amt": ZERO,
        "balc": balance,
        "acct_mulaid_pay": _signed(account, sign) if by_relative else ZERO,
        "medins_setl_id": msgid,
        "clr_optins": settlement.insured_city.code,
        "clr_way": CLEARING_BY_ITEM,
        "clr_type": clearing_type(settlement.institution, settlement.visit_type),
    }


def setldetail_of(settlement: Settlement, *, sign: int = 1) -> list[dict]:
    """The funds that pay: this engine's one pooled fund per settlement."""
    code, name = FUND_PAY_TYPE[settlement.pool_account.kind]
    return [
        {
            "fund_pay_type": code,
            "fund_pay_type_name": name,
            "inscp_scp_amt": _signed(settlement.eligible_amount, sign),
            "crt_payb_lmt_amt": _fund_room(settlement),
            "fund_payamt": _signed(settlement.pool_amount, sign),
            "setl_proc_info": "",
        }
    ]


def settlement_answer(
    settlement: Settlement, *, asked_visit: Visit, cert_type: str, msgid: str, sign: int = 1
) -> Output:
    return Output(
        {
            "setlinfo": setlinfo_of(
                settlement, visit=asked_visit, cert_type=cert_type, msgid=msgid, sign=sign
            ),
            "setldetail": setldetail_of(settlement, sign=sign),
        },
        # The account paid all it had and the person still owes cash: the clerk collects it.
        extension={
            "balance_insufficient": sign == 1
            and settlement.paying_account_id is not None
            and settlement.personal_account_balance_after == ZERO
            and settlement.cash_amount > ZERO,
        },
    )


def pre_settle(call: Call) -> Output:
    """Quote the visit's settlement (2206, 2303): nothing is written or posted."""
    asked = settlement_asked(call, account_flag_required=False)
    quote = visit_quote(
        visit=asked.visit,
        credential=asked.credential,
        use_personal_account=asked.use_personal_account,
        family_account_holder_id=asked.family_account_holder_id,
        expected_total=asked.expected_total,
        by=call.user,
        now=call.now,
    )
    return settlement_answer(
        quote.settlement, asked_visit=asked.visit, cert_type=asked.cert_type, msgid=call.msgid
    )


def settle(call: Call) -> Output:
    """Settle the visit from its live fee lines (2207, 2304)."""
    asked = settlement_asked(call, account_flag_required=True)
    settlement = visit_settle(
        visit=asked.visit,
        credential=asked.credential,
        use_personal_account=asked.use_personal_account,
        family_account_holder_id=asked.family_account_holder_id,
        expected_total=asked.expected_total,
        by=call.user,
        now=call.now,
    )
    return settlement_answer(
        settlement, asked_visit=asked.visit, cert_type=asked.cert_type, msgid=call.msgid
    )


def reverse(call: Call) -> Output:
    """Reverse a settlement of the visit (2208, 2305)."""
    reader = InputReader(call)
    setl_id = reader.text("setl_id", required=True, longest=30)
    visit = the_visit(call, reader)
    settlement = visit_settlement_reverse(
        visit=visit,
        setl_id=setl_id,
        reason=f"Reversed through the platform interface (msgid {call.msgid}).",
        by=call.user,
        now=call.now,
    )
    return settlement_answer(settlement, asked_visit=visit, cert_type="", msgid=call.msgid, sign=-1)


def undo_settlement(call: Call, original: dict) -> dict:
    """2601 of a settlement: it is reversed (already reversed: nothing more to do)."""
    setlinfo = original.get("setlinfo") or {}
    visit = visit_of(institution_id=call.institution.pk, mdtrt_id=setlinfo.get("mdtrt_id", ""))
    try:
        visit_settlement_reverse(
            visit=visit,
            setl_id=str(setlinfo.get("setl_id", "")),
            reason=f"Corrected through the platform interface (msgid {call.msgid}).",
            by=call.user,
            now=call.now,
        )
    except DomainError as refusal:
        if refusal.code != SettlementErrorCode.SETTLEMENT_ALREADY_REVERSED:
            raise
        return {"setl_id": setlinfo.get("setl_id"), "already_reversed": True}
    return {"setl_id": setlinfo.get("setl_id"), "already_reversed": False}


SETTLEMENT_INPUT = (
    "data.psn_no",
    "data.mdtrt_cert_type",
    "data.mdtrt_cert_no",
    "data.med_type",
    "data.medfee_sumamt",
    "data.psn_setlway",
    "data.mdtrt_id",
    "data.chrg_bchno",
    "data.insutype",
    "data.acct_used_flag",
    "data.acct_mulaid_psn_no",
)
SETLINFO = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "pool_prop_selfpay",
    "cvlserv_pay",
    "hifes_pay",
    "hifmi_pay",
    "hifob_pay",
    "maf_pay",
    "oth_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "psn_cash_pay",
    "hosp_part_amt",
    "balc",
    "acct_mulaid_pay",
    "setl_id",
    "mdtrt_id",
    "psn_no",
    "setl_time",
    "medins_setl_id",
    "clr_optins",
    "clr_way",
    "clr_type",
)
SETTLEMENT_OUTPUT = (
    *(f"setlinfo.{name}" for name in SETLINFO),
    "setldetail[].fund_pay_type",
    "setldetail[].fund_pay_type_name",
    "setldetail[].inscp_scp_amt",
    "setldetail[].crt_payb_lmt_amt",
    "setldetail[].fund_payamt",
    "setldetail[].setl_proc_info",
)


@transaction(
    "2206",
    name_zh="门诊预结算",
    name_en="Outpatient pre-settlement",
    input_fields=SETTLEMENT_INPUT,
    output_fields=SETTLEMENT_OUTPUT,
)
def outpatient_pre_settle(call: Call) -> dict:
    """Computes the settlement of the visit's live fee lines exactly as 2207 would at this
    moment, by the same steps and refusals, and posts nothing (``setl_id`` empty): a 2207 right
    after gives the same figures. ``medfee_sumamt``, when sent, must be the lines' total
    (``VISIT_TOTAL_MISMATCH``)."""
    return pre_settle(call)


@transaction(
    "2207",
    name_zh="门诊结算",
    name_en="Outpatient settlement",
    input_fields=SETTLEMENT_INPUT,
    output_fields=SETTLEMENT_OUTPUT,
    undo=undo_settlement,
)
def outpatient_settle(call: Call) -> dict:
    """Settles the visit's live fee lines in one balanced ledger transfer (the REST API's
    settlement, with ``mdtrt_id`` as its visit reference): the pooled fund pays
    ``fund_pay_sumamt``, the personal account ``acct_pay`` (``acct_used_flag`` 1, up to its
    balance), a relative's ``acct_mulaid_pay``, the rest ``psn_cash_pay``. The visit is then
    settled until 2208. Refused: a settled visit (``VISIT_SETTLED``), no live lines
    (``VISIT_HAS_NO_FEE_LINES``), another person's credential (``VISIT_PERSON_MISMATCH``), and
    every refusal of settling. Corrected by 2601: the settlement is reversed."""
    return settle(call)


@transaction(
    "2208",
    name_zh="门诊结算撤销",
    name_en="Outpatient settlement reversed",
    input_fields=("data.psn_no", "data.mdtrt_id", "data.setl_id"),
    output_fields=SETTLEMENT_OUTPUT,
)
def outpatient_settlement_reverse(call: Call) -> dict:
    """Reverses a settlement of the visit: one transfer the other way, the year's deductible and
    fund usage given back; the answer carries its figures negated and ``balc`` after. The visit is
    open again with its fee lines. Reversing it again answers ``SETTLEMENT_ALREADY_REVERSED``; a
    ``setl_id`` not of this visit, ``SETTLEMENT_NOT_OF_VISIT``."""
    return reverse(call)
