"""2601 correction of a message whose answer was lost (``omsgid``, ``oinfno``).

It looks up this institution's message ``omsgid``. If that message was carried out and its
transaction has an ``undo``, the undo runs (with the original output) in the correction's own
database transaction, and the original is marked corrected; ``crct_rslt`` 1. If it was refused,
never arrived, or its transaction changes nothing an undo could take back (an inquiry),
``crct_rslt`` 0: nothing to correct. A msgid no message carried out (refused, or never arrived)
is voided, so a copy arriving later is refused (MESSAGE_CORRECTED) rather than carried out
after its correction said nothing happened. Repeating is safe: a 2601 is
idempotent by its own msgid, and a second 2601 for the same omsgid answers ``crct_rslt`` 2
(already corrected) and does nothing more. Sign-in and sign-out are not corrected (sign in or
out again), nor is a correction.
"""

from common.errors import DomainError, field_error
from fsi import services
from fsi.error_codes import FsiErrorCode
from fsi.inputs import InputReader
from fsi.registry import TRANSACTIONS, Call, transaction

UNDONE, NOTHING_TO_UNDO, ALREADY_CORRECTED = "1", "0", "2"
NOT_CORRECTED_HERE = frozenset({"9001", "9002", "2601"})


@transaction(
    "2601",
    name_zh="冲正交易",
    name_en="Correction of a message whose answer was lost",
    input_fields=("data.psn_no", "data.omsgid", "data.oinfno"),
    output_fields=(
        "omsgid",
        "oinfno",
        "crct_rslt",
        "crct_rslt_dscr",
        "original_inf_refmsgid",
        "undo_output",
    ),
)
def correct(call: Call) -> dict:
    reader = InputReader(call)
    reader.text("psn_no", longest=30)
    omsgid = reader.text("omsgid", required=True, longest=64)
    oinfno = reader.text("oinfno", required=True, longest=4)
    if oinfno and oinfno in NOT_CORRECTED_HERE:
        reader.error("oinfno", "Sign-in, sign-out and corrections are not corrected.")
    if omsgid and omsgid == call.msgid:
        reader.error("omsgid", "A correction cannot correct itself.")
    reader.done()
    if oinfno not in TRANSACTIONS:
        raise DomainError(
            FsiErrorCode.INFNO_UNKNOWN,
            f"No transaction {oinfno} here.",
            errors=[field_error("input.data.oinfno", "Unknown transaction.")],
        )
    target = services.correction_target(
        institution=call.institution, omsgid=omsgid, correction_msgid=call.msgid, now=call.now
    )
    answer = {"omsgid": omsgid, "oinfno": oinfno, "original_inf_refmsgid": "", "undo_output": {}}
    original = target.original
    if original is None:
        why = "原交易未成功办理" if target.arrived_refused else "原交易未到达平台"
        return answer | {
            "crct_rslt": NOTHING_TO_UNDO,
            "crct_rslt_dscr": f"{why}，无需冲正；该报文ID此后不再受理。",
        }
    answer["original_inf_refmsgid"] = original.inf_refmsgid
    if original.infno != oinfno:
        raise DomainError(
            FsiErrorCode.ORIGINAL_INFNO_MISMATCH,
            f"Message {omsgid} was a {original.infno}, not a {oinfno}.",
            errors=[field_error("input.data.oinfno", f"The original is a {original.infno}.")],
        )
    if target.already_corrected_by is not None:
        return answer | {
            "crct_rslt": ALREADY_CORRECTED,
            "crct_rslt_dscr": f"原交易已于此前被冲正（报文ID {target.already_corrected_by.msgid}）。",
        }
    undo = TRANSACTIONS[oinfno].undo
    if original.outcome != original.Outcome.DONE or undo is None:
        return answer | {
            "crct_rslt": NOTHING_TO_UNDO,
            "crct_rslt_dscr": "原交易未改变任何业务数据，无需冲正。",
        }
    undo_output = undo(call, original.response.get("output") or {})
    services.correction_record(
        original=original, correction_msgid=call.msgid, institution=call.institution, now=call.now
    )
    return answer | {
        "crct_rslt": UNDONE,
        "crct_rslt_dscr": "原交易已冲正。",
        "undo_output": undo_output or {},
    }
