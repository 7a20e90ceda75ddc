"""The page of each error code: what causes it, what to do, which operations answer with it, and
an example of the problem body. Served as JSON and as HTML at ``/api/v1/problems/{code}``."""

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.reasons import HIDING_REASONS, REASON_ORDER, REASON_SOURCES, REASON_TITLES, ReasonCode
from api.problem_reach import PLUMBING_CODES, operations_by_code
from api.recorded_examples import balance_by_reason
from common.errors import ErrorCodes, ErrorKind

# What a client does about a code, by its kind, where the code has no advice of its own.
ACTION_BY_KIND = {
    ErrorKind.INVALID: _(
        "Correct the request as `detail` and, for fields, `errors` say (each error names its "
        "field and a JSON pointer to it), then send it again. Sending it unchanged fails again."
    ),
    ErrorKind.NOT_AUTHENTICATED: _(
        "Log in with POST /api/v1/auth/login and send the answer's `authorization` value in the "
        "Authorization header; a token that expired or was revoked needs a new login."
    ),
    ErrorKind.FORBIDDEN: _(
        "The caller's role or scope may not do this: use a login that may (an operator of the "
        "city, the institution's terminal, the person themselves), or, for a card, present the "
        "right credential or PIN. Retrying with the same login fails again."
    ),
    ErrorKind.NOT_FOUND: _(
        "Check the id or code in the address. An object the caller may not see answers the same "
        "as one that does not exist, so that nobody learns of another person's data."
    ),
    ErrorKind.CONFLICT: _(
        "The record is in a state that does not allow this now (`current_status` says which, "
        "where the record has one). Read it again, do what its state needs first, or stop if "
        "the change you wanted has already been made."
    ),
    ErrorKind.UNPROCESSABLE: _(
        "A business rule refused the request; `detail` names the rule and, where one exists, "
        "the way through it. Changing the request or the record's state is needed before a "
        "retry can succeed."
    ),
    ErrorKind.TOO_LARGE: _("Send a smaller body; split a large request into several."),
    ErrorKind.RATE_LIMITED: _(
        "Wait the number of seconds in the Retry-After header, then retry; these are real "
        "seconds, which the sandbox's simulated clock does not shorten."
    ),
    ErrorKind.UNAVAILABLE: _(
        "Retry later with the same Idempotency-Key: nothing was changed, and a retry with the "
        "same key is never applied twice."
    ),
    ErrorKind.INTERNAL: _(
        "Retry with the same Idempotency-Key; if it persists, report the problem's `request_id` "
        "to the operator of this server, who can find the request by it."
    ),
    ErrorKind.METHOD_NOT_ALLOWED: _(
        "Use one of the methods the Allow header lists; the API reference shows each address's "
        "operations."
    ),
    ErrorKind.NOT_ACCEPTABLE: _("Accept application/json (or leave the Accept header out)."),
    ErrorKind.UNSUPPORTED_MEDIA_TYPE: _(
        "Send the body as JSON with Content-Type application/json."
    ),
}

# Where a code's own advice says more than its kind's.
SPECIFIC_ACTIONS = {
    "IDEMPOTENCY_KEY_REUSED": _(
        "An Idempotency-Key names one request: use a new key for a different request, or send "
        "exactly the same body again to get the first answer back."
    ),
    "IDEMPOTENCY_KEY_INVALID": _(
        "Send 1 to 255 printable ASCII characters without spaces, e.g. a UUID."
    ),
    "VALIDATION_ERROR": _(
        "Each entry of `errors` names a field (`field`, and `pointer` as a JSON pointer), a "
        "`code` and a message: correct those fields and send the request again."
    ),
    "PLATFORM_BUSY": _(
        "The query platform is at its load limit: retry after the seconds the answer gives. In "
        "the sandbox, a city's platform can also be switched busy on purpose."
    ),
    "CREDENTIAL_REQUIRED": _(
        "An institution terminal reads a person only while the person's card or e-voucher is "
        "presented: send X-Presented-Credential, e.g. `CARD A33010012345` or `EVOUCHER <code>`."
    ),
    "CREDENTIAL_INVALID": _(
        "The presented card or e-voucher cannot be used now (`current_status` says why, e.g. a "
        "card still being made): present another credential or fix this one's state first."
    ),
    "CARD_PIN_REQUIRED": _("Send the card's six-digit PIN in the X-Card-PIN header."),
    "CARD_PIN_INCORRECT": _(
        "The PIN was wrong; after too many wrong PINs the card locks. Ask the card holder again."
    ),
    "CARD_PIN_LOCKED": _(
        "Too many wrong PINs locked the card; the holder resets the PIN at the "
        "medical-insurance agency or waits for the lock to end, as `detail` says."
    ),
    "CROSS_CITY_FILING_REQUIRED": _(
        "Care outside the insured city is settled directly only with a cross-city filing: the "
        "person files one (POST /api/v1/filings) before the visit, or pays in full and claims "
        "reimbursement from the insured city's agency."
    ),
    "INSUFFICIENT_FUNDS": _(
        "The personal account does not hold enough: settle without the personal account "
        "(`use_personal_account` false) so the person pays the rest in cash."
    ),
    "VISIT_ALREADY_SETTLED": _(
        "This visit was settled already: read the existing settlement instead of settling again, "
        "or reverse it first if it was wrong."
    ),
    "CLOCK_CANNOT_GO_BACK": _(
        "The simulated clock only moves forward: advance it, or start a fresh world to begin "
        "again at an earlier date."
    ),
    "SANDBOX_DISABLED": _(
        "This server runs without sandbox mode (production): sandbox operations exist only on a "
        "sandbox server, such as the one `make demo` serves."
    ),
    "INTERNAL_ERROR": _(
        "Nothing was changed by the failed request. Retry with the same Idempotency-Key; if it "
        "persists, report the `request_id` to the operator of this server."
    ),
}

NATIONAL_INTERFACE = _(
    "The national platform's interface (POST /fsi/api/rsfComIfsService/callService), in the "
    "envelope's `extension.code`; see /fsi/docs/ for the transactions."
)


def _operation_entry(operation) -> dict:
    if operation.operation_id.startswith("fsi-"):
        reference = f"/fsi/docs/{operation.operation_id.removeprefix('fsi-')}"
    else:
        reference = f"/api/v1/redoc#operation/{operation.operation_id}"
    return {
        "method": operation.method,
        "path": operation.path,
        "operation_id": operation.operation_id,
        "summary": operation.summary,
        "reference": reference,
    }


def problem_example(member: ErrorCodes) -> dict:
    """A problem body as the API answers it with this code."""
    body = {
        "type": f"/api/v1/problems/{member.code}",
        "title": str(member.title),
        "status": member.status,
        "detail": str(member.title),
        "code": member.code,
        "request_id": "9b2f6c1e0d7a4e35",
    }
    if member.code == "VALIDATION_ERROR":
        body["errors"] = [
            {
                "field": "line_items.0.unit_price",
                "pointer": "/line_items/0/unit_price",
                "code": "invalid",
                "message": str(_('Send an amount as a decimal string, like "12.50".')),
            }
        ]
    return body


def problem_page(member: ErrorCodes) -> dict:
    """Everything a client developer needs to handle one code."""
    operations = [_operation_entry(op) for op in operations_by_code().get(member.code, ())]
    where = PLUMBING_CODES.get(member.code)
    if type(member).__name__ == "FsiErrorCode" and not operations:
        where = NATIONAL_INTERFACE
    return {
        "code": member.code,
        "status": member.status,
        "title": str(member.title),
        "cause": str(member.title),
        "action": str(SPECIFIC_ACTIONS.get(member.code) or ACTION_BY_KIND[member.kind]),
        "answered_by": str(where) if where else "",
        "operations": operations,
        "example": problem_example(member),
    }


def reason_page(code: str) -> dict | None:
    """A balance reason's page, with the recorded answer of its sandbox scenario."""
    if code not in ReasonCode.__members__:
        return None
    reason = ReasonCode(code)
    example = balance_by_reason(get_language() or "en").get(code, {})
    shown = next((r for r in example.get("reasons", []) if r["code"] == code), {})
    return {
        "code": code,
        "order": REASON_ORDER.index(reason) + 1,
        "title": str(REASON_TITLES[reason]),
        "hides_balance": reason in HIDING_REASONS,
        "background": str(REASON_SOURCES[reason]),
        "remedy": shown.get("remedy", ""),
        "scenario": f"POST /api/v1/sandbox/scenarios/{code}",
        "example": example,
    }
