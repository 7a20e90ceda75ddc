"""The message envelope: read it, check it, carry the transaction out once per msgid, answer.

A message is answered with HTTP 200 and ``infcode`` 0 (done) or -1 (refused), whatever the
refusal, so clients that only read ``infcode`` and ``err_msg`` work. Only what comes before an
institution is known is answered with another status (still an envelope): a method other than
POST (405), a body over the upload limit (413), no token or a bad one (401), a caller that is no
institution terminal (403). A body that is not a JSON object is refused with ``infcode`` -1 and
HTTP 400.

Idempotency is by (institution, msgid). The row that claims the msgid is written in the same
database transaction as the transaction's work; a copy sent at the same time waits on the unique
index until the first one ends, then answers the stored response (``extension.replayed`` true).
The same msgid with another body is refused (``MSGID_REUSED``). A refusal claims nothing
(nothing was done), so a corrected message may reuse its msgid. What tells two bodies apart:
``infno``, ``fixmedins_code``, ``insuplc_admdvs``, ``mdtrtarea_admvs`` and ``input``, without any
PIN or password in it; not the time, the device, the operator or the sign_no.

Numbers in ``output`` are JSON numbers where a Decimal converts to one exactly (money, ratios),
dates ``yyyy-MM-dd`` and times ``yyyy-MM-dd HH:mm:ss`` in the local zone (Asia/Shanghai).
"""

import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.functional import Promise

from common import clock
from common.errors import CommonErrorCode, DomainError, ErrorCodes, field_error, violated_constraint
from fsi.error_codes import FsiErrorCode
from fsi.messages import err_msg
from fsi.models import Message, SignIn
from fsi.registry import TRANSACTIONS, Call
from institutions.models import Institution

logger = logging.getLogger(__name__)

SIGN_IN_INFNO = "9001"
CLAIM_CONSTRAINT = "fsi_one_message_claims_each_msgid"
MAX_JSON_DEPTH = 32
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
STORED_RAW_CHARS = 4096
# The envelope's text fields besides infno, msgid, fixmedins_code and sign_no, with their longest
# accepted length; each is optional and, when sent, a string (or null).
OPTIONAL_TEXT_FIELDS: dict[str, int] = {
    "mdtrtarea_admvs": 6,
    "insuplc_admdvs": 6,
    "recer_sys_code": 10,
    "dev_no": 100,
    "dev_safe_info": 2000,
    "cainfo": 2000,
    "signtype": 10,
    "infver": 6,
    "opter_type": 3,
    "opter": 30,
    "opter_name": 50,
    "inf_time": 19,
    "fixmedins_name": 200,
}
REQUEST_FIELDS = (
    "infno",
    "msgid",
    *OPTIONAL_TEXT_FIELDS,
    "fixmedins_code",
    "sign_no",
    "input",
)
RESPONSE_FIELDS = (
    "infcode",
    "inf_refmsgid",
    "refmsg_time",
    "respond_time",
    "err_msg",
    "output",
    "extension",
)
_INFNO = re.compile(r"^\d{4}$")
_INF_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
# Keys whose values never go into the log or the fingerprint.
_SECRET_KEY = re.compile(r"pin|passw|pwd", re.IGNORECASE)
# The parts of the envelope that decide what a message does (see the module's docstring).
_FINGERPRINTED = ("infno", "fixmedins_code", "insuplc_admdvs", "mdtrtarea_admvs", "input")


class Refusal(Exception):
    """A refusal of the envelope itself (before any transaction runs), with its HTTP status."""

    def __init__(self, code: ErrorCodes, detail: str = "", *, errors=None, status: int = 200):
        self.code = code
        self.detail = detail or code.title
        self.errors = errors or []
        self.status = status
        super().__init__(f"{code.code}: {self.detail}")


@dataclass
class Arrival:
    """A message as it arrived: who sent it, when, and what the log will hold of it."""

    user: Any
    request_id: str
    now: datetime
    received_at: datetime
    started: float
    stored_request: dict = field(default_factory=dict)
    envelope: dict | None = None
    # The terminal's institution with its city, read once (with whether ``sign_no`` is open).
    institution: Any = None

    def institution_read(self, *, sign_no: str = "") -> Any:
        if self.institution is None:
            open_sign_in = SignIn.objects.filter(
                institution=OuterRef("pk"), sign_no=sign_no, signed_out_at__isnull=True
            )
            self.institution = (
                Institution.objects.select_related("city")
                .annotate(sign_no_open=Exists(open_sign_in))
                .get(pk=self.user.institution_id)
            )
        return self.institution


# --- Answers ----------------------------------------------------------------------------------


def _time_text(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def jsonable(value: Any) -> Any:
    """``value`` in plain JSON types: a Decimal as a number where that is exact (else its text),
    dates and times as the national platform writes them."""
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        number = float(value)
        return number if Decimal(repr(number)) == value else str(value)
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Promise):  # a translated text, read in the request's language
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def answer(
    *,
    infcode: int,
    refmsgid: str,
    now: datetime,
    started: float,
    output: dict | None = None,
    message: str = "",
    extension: dict | None = None,
) -> dict:
    respond_at = now + timedelta(seconds=time.perf_counter() - started)
    return {
        "infcode": infcode,
        "inf_refmsgid": refmsgid,
        "refmsg_time": _time_text(now),
        "respond_time": _time_text(respond_at),
        "err_msg": message,
        "output": jsonable(output or {}),
        "extension": jsonable(extension or {}),
    }


def refusal_answer(
    code: ErrorCodes,
    detail: str,
    *,
    refmsgid: str,
    now: datetime,
    started: float,
    request_id: str,
    errors=None,
    extra: dict | None = None,
) -> dict:
    extension = {"code": code.code, "detail": detail, "request_id": request_id}
    if errors:
        extension["errors"] = errors
    extension |= extra or {}
    return answer(
        infcode=-1,
        refmsgid=refmsgid,
        now=now,
        started=started,
        message=err_msg(code),
        extension=extension,
    )


def refmsgid_for(message: Message, institution) -> str:
    """The answer's id: the institution's city code, the business time and the log row's id."""
    moment = timezone.localtime(message.business_time)
    return f"{institution.city.code}{moment:%Y%m%d%H%M%S}{message.pk:010d}"


# --- Reading the body -------------------------------------------------------------------------


def _no_constants(name: str):
    raise ValueError(f"{name} is not a JSON number")


def parsed_body(body: bytes) -> dict:
    """The body as a JSON object, or a Refusal: unreadable JSON, NaN or Infinity, nesting deeper
    than MAX_JSON_DEPTH, integers beyond bigint, NUL characters, or anything but an object."""
    try:
        text = body.decode("utf-8")
        data = json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise Refusal(
            CommonErrorCode.REQUEST_NESTED_TOO_DEEPLY,
            f"The message nests objects or arrays more than {MAX_JSON_DEPTH} levels deep.",
            status=400,
        ) from None
    except ValueError:
        raise Refusal(
            CommonErrorCode.MALFORMED_REQUEST,
            "The body is not JSON in UTF-8.",
            status=400,
        ) from None
    errors = list(_refused_values(data))
    if errors:
        raise Refusal(FsiErrorCode.ENVELOPE_INVALID, "Some values cannot be read.", errors=errors)
    if not isinstance(data, dict):
        raise Refusal(
            FsiErrorCode.ENVELOPE_INVALID,
            "The message must be a JSON object.",
            errors=[field_error("non_field_errors", "Expected a JSON object.", "type")],
        )
    return data


def _refused_values(data: Any):
    """Walks without recursion, so depth cannot crash it."""
    pending: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while pending:
        value, path = pending.pop()
        if len(path) > MAX_JSON_DEPTH:
            raise Refusal(
                CommonErrorCode.REQUEST_NESTED_TOO_DEEPLY,
                f"The message nests objects or arrays more than {MAX_JSON_DEPTH} levels deep.",
                status=400,
            )
        name = ".".join(path) or "non_field_errors"
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    yield field_error(name, "A member name contains a NUL character.", "null")
                else:
                    pending.append((item, (*path, key)))
        elif isinstance(value, list):
            pending.extend((item, (*path, str(index))) for index, item in enumerate(value))
        elif isinstance(value, bool):
            continue
        elif (isinstance(value, int) and not BIGINT_MIN <= value <= BIGINT_MAX) or (
            isinstance(value, float) and not math.isfinite(value)
        ):
            yield field_error(name, "The number is too large.", "max_value")
        elif isinstance(value, str) and "\x00" in value:
            yield field_error(name, "Null characters are not allowed.", "null")


def redacted(value: Any) -> Any:
    """``value`` with every PIN or password replaced, as the log keeps it."""
    if isinstance(value, dict):
        return {
            key: "******" if _SECRET_KEY.search(key) and item not in (None, "") else redacted(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redacted(item) for item in value]
    return value


def raw_for_log(body: bytes) -> dict:
    """What the log keeps of a body it could not read: its start, as text PostgreSQL can hold."""
    text = body[:STORED_RAW_CHARS].decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    return {"unreadable_body": text, "body_bytes": len(body)}


def fingerprint(envelope: dict) -> str:
    material = {name: envelope.get(name) for name in _FINGERPRINTED}
    material["input"] = _without_secrets(material["input"])
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_secrets(v) for k, v in value.items() if not _SECRET_KEY.search(k)}
    if isinstance(value, list):
        return [_without_secrets(item) for item in value]
    return value


# --- Checking the envelope --------------------------------------------------------------------


def envelope_errors(envelope: dict) -> list[dict[str, str]]:
    """Field errors of the envelope's own fields (the transaction checks its ``input``)."""
    errors = []

    def text(name: str, *, required: bool, longest: int) -> None:
        value = envelope.get(name)
        if value is None or value == "":
            if required:
                errors.append(field_error(name, "This field is required.", "required"))
        elif not isinstance(value, str):
            errors.append(field_error(name, "Must be a string.", "type"))
        elif len(value) > longest:
            errors.append(field_error(name, f"At most {longest} characters.", "max_length"))

    text("infno", required=True, longest=4)
    infno = envelope.get("infno")
    if isinstance(infno, str) and infno and not _INFNO.match(infno):
        errors.append(field_error("infno", "Four digits, such as 1101.", "invalid"))
    text("msgid", required=True, longest=64)
    text("fixmedins_code", required=True, longest=30)
    text("sign_no", required=envelope.get("infno") != SIGN_IN_INFNO, longest=30)
    for name, longest in OPTIONAL_TEXT_FIELDS.items():
        text(name, required=False, longest=longest)
    inf_time = envelope.get("inf_time")
    if isinstance(inf_time, str) and inf_time and not _INF_TIME.match(inf_time):
        errors.append(field_error("inf_time", "yyyy-MM-dd HH:mm:ss.", "invalid"))
    if "input" not in envelope or envelope["input"] is None:
        errors.append(field_error("input", "This field is required (an object).", "required"))
    elif not isinstance(envelope["input"], dict):
        errors.append(field_error("input", "Must be an object.", "type"))
    return errors


def msgid_valid(msgid: str, institution_code: str) -> bool:
    """Institution code, yyyyMMddHHmmss (a real moment) and a sequence of 1 to 16 digits."""
    match = re.fullmatch(re.escape(institution_code) + r"(\d{14})(\d{1,16})", msgid)
    if match is None:
        return False
    try:
        datetime.strptime(match.group(1), "%Y%m%d%H%M%S")
    except ValueError:
        return False
    return True


def checked_envelope(envelope: dict, *, institution) -> None:
    """Refuses, in this order: invalid fields, another institution's code, an invalid msgid, an
    unknown infno, no open sign-in of this institution (but for 9001), and every message while
    the sandbox has the city's platform switched busy."""
    errors = envelope_errors(envelope)
    if errors:
        raise Refusal(
            FsiErrorCode.ENVELOPE_INVALID, "Some fields are invalid; see errors.", errors=errors
        )
    if envelope["fixmedins_code"] != institution.code:
        raise Refusal(
            FsiErrorCode.FIXMEDINS_MISMATCH,
            f"fixmedins_code {envelope['fixmedins_code']!r} is not this terminal's institution "
            f"({institution.code}).",
        )
    if not msgid_valid(envelope["msgid"], institution.code):
        raise Refusal(
            FsiErrorCode.MSGID_INVALID,
            f"msgid must be {institution.code}, then yyyyMMddHHmmss, then a sequence number "
            "(1 to 16 digits).",
            errors=[field_error("msgid", "Not institution code + time + sequence.", "invalid")],
        )
    if envelope["infno"] not in TRANSACTIONS:
        raise Refusal(FsiErrorCode.INFNO_UNKNOWN, f"No transaction {envelope['infno']} here.")
    if envelope["infno"] != SIGN_IN_INFNO and not institution.sign_no_open:
        raise Refusal(
            FsiErrorCode.SIGN_IN_REQUIRED,
            "The sign_no is unknown, signed out or another institution's; sign in (9001).",
        )
    if institution.city.interface_busy_forced:
        raise Refusal(
            FsiErrorCode.PLATFORM_BUSY,
            f"The platform of {institution.city.name} is busy; nothing was carried out. Send the "
            "same message again later.",
        )


# --- Carrying a message out -------------------------------------------------------------------


def _log(arrival: Arrival, **fields) -> Message:
    envelope = arrival.envelope or {}
    return Message.objects.create(
        institution_id=arrival.user.institution_id,
        user=arrival.user,
        msgid=_text_or_blank(envelope.get("msgid"), 64),
        infno=_text_or_blank(envelope.get("infno"), 8),
        sign_no=_text_or_blank(envelope.get("sign_no"), 30),
        request=arrival.stored_request,
        request_id=arrival.request_id,
        business_time=arrival.now,
        received_at=arrival.received_at,
        **fields,
    )


def _text_or_blank(value: Any, longest: int) -> str:
    return value[:longest] if isinstance(value, str) else ""


def _finish(message: Message, response: dict, arrival: Arrival) -> None:
    message.response = response
    message.inf_refmsgid = response["inf_refmsgid"]
    message.infcode = response["infcode"]
    message.error_code = response["extension"].get("code", "") if response["infcode"] else ""
    message.duration_ms = Decimal(f"{(time.perf_counter() - arrival.started) * 1000:.2f}")
    message.save(update_fields=["response", "inf_refmsgid", "infcode", "error_code", "duration_ms"])


def refused(arrival: Arrival, code: ErrorCodes, detail: str, *, errors=None, extra=None) -> dict:
    """Log a refusal (it claims nothing) and answer it. Never raises: a log that cannot be
    written still leaves the client an answer."""
    try:
        with transaction.atomic():
            message = _log(arrival, outcome=Message.Outcome.REFUSED)
            response = refusal_answer(
                code,
                detail,
                refmsgid=refmsgid_for(message, arrival.institution_read()),
                now=arrival.now,
                started=arrival.started,
                request_id=arrival.request_id,
                errors=errors,
                extra=extra,
            )
            _finish(message, response, arrival)
            return response
    except Exception:
        logger.exception("fsi: a refusal could not be logged")
        return refusal_answer(
            code,
            detail,
            refmsgid="",
            now=arrival.now,
            started=arrival.started,
            request_id=arrival.request_id,
            errors=errors,
            extra=extra,
        )


def carried_out(arrival: Arrival, call: Call) -> dict:
    """Run the transaction once for this msgid (see the module's docstring)."""
    registered = TRANSACTIONS[call.infno]
    print_ = fingerprint(call.envelope)
    try:
        with transaction.atomic():
            claim = _log(
                arrival,
                claims_msgid=True,
                outcome=Message.Outcome.DONE,
                fingerprint=print_,
            )
            output = registered.handler(call)
            extension = {"request_id": arrival.request_id, "replayed": False}
            extension |= getattr(output, "extension", {}) or {}
            response = answer(
                infcode=0,
                refmsgid=refmsgid_for(claim, arrival.institution),
                now=arrival.now,
                started=arrival.started,
                output=dict(output or {}),
                extension=extension,
            )
            _finish(claim, response, arrival)
            return response
    except IntegrityError as exc:
        if violated_constraint(exc) != CLAIM_CONSTRAINT:
            logger.exception("fsi: transaction %s failed on a constraint", call.infno)
            return refused(
                arrival, CommonErrorCode.INTERNAL_ERROR, CommonErrorCode.INTERNAL_ERROR.title
            )
        return repeated(arrival, call, print_)
    except DomainError as exc:
        return refused(arrival, exc.code, exc.detail, errors=exc.errors, extra=exc.extra)
    except Exception:
        logger.exception("fsi: transaction %s failed", call.infno)
        return refused(
            arrival, CommonErrorCode.INTERNAL_ERROR, CommonErrorCode.INTERNAL_ERROR.title
        )


def repeated(arrival: Arrival, call: Call, print_: str) -> dict:
    """A msgid already carried out: its stored response for the same message, a refusal for
    another one (or for a msgid a correction voided before it arrived)."""
    original = Message.objects.get(
        institution_id=arrival.user.institution_id, msgid=call.msgid, claims_msgid=True
    )
    if original.outcome == Message.Outcome.VOIDED:
        return refused(
            arrival,
            FsiErrorCode.MESSAGE_CORRECTED,
            f"msgid {call.msgid} was corrected by a 2601 before it arrived; send a new msgid.",
            extra={"original_inf_refmsgid": original.inf_refmsgid},
        )
    if original.fingerprint != print_:
        return refused(
            arrival,
            FsiErrorCode.MSGID_REUSED,
            f"msgid {call.msgid} was first used for another message; send a new msgid.",
            extra={"original_inf_refmsgid": original.inf_refmsgid},
        )
    response = {**original.response}
    response["extension"] = {**response.get("extension", {}), "replayed": True}
    try:
        with transaction.atomic():
            copy = _log(arrival, outcome=Message.Outcome.REPLAYED, fingerprint=print_)
            _finish(copy, response, arrival)
    except Exception:
        logger.exception("fsi: a replay could not be logged")
    return response


def message_answer(*, body: bytes, arrival: Arrival) -> tuple[int, dict]:
    """The one call the view makes: the HTTP status and the answer for this body."""
    try:
        envelope = parsed_body(body)
    except Refusal as refusal:
        arrival.stored_request = raw_for_log(body)
        return refusal.status, refused(arrival, refusal.code, refusal.detail, errors=refusal.errors)
    arrival.envelope = envelope
    arrival.stored_request = redacted(envelope)
    sign_no = envelope.get("sign_no")
    institution = arrival.institution_read(sign_no=sign_no if isinstance(sign_no, str) else "")
    try:
        checked_envelope(envelope, institution=institution)
    except Refusal as refusal:
        return refusal.status, refused(arrival, refusal.code, refusal.detail, errors=refusal.errors)
    call = Call(
        infno=envelope["infno"],
        msgid=envelope["msgid"],
        institution=institution,
        user=arrival.user,
        sign_no=envelope.get("sign_no") or "",
        input=envelope["input"],
        now=arrival.now,
        request_id=arrival.request_id,
        envelope=envelope,
    )
    return 200, carried_out(arrival, call)


def arrival_of(*, user, request_id: str, started: float) -> Arrival:
    return Arrival(
        user=user,
        request_id=request_id,
        now=clock.now(),
        received_at=timezone.now(),
        started=started,
    )
