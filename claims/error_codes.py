from django.utils.translation import gettext_lazy as _

from common.errors import ErrorCodes, ErrorKind


class ClaimErrorCode(ErrorCodes):
    CLAIM_ROUTE_NOT_AVAILABLE = (
        ErrorKind.UNPROCESSABLE,
        _(
            "This care is not reimbursed through a claim: it is settled directly at the "
            "institution."
        ),
    )
    CLAIM_INSTITUTION_UNKNOWN = (
        ErrorKind.UNPROCESSABLE,
        _("No institution with that code; give its name (and the care city) instead."),
    )
    CLAIM_VISIT_DATE_INVALID = (
        ErrorKind.UNPROCESSABLE,
        _("The visit date is in the future or before the person's insurance started."),
    )
    CLAIM_RECEIPTS_MISMATCH = (
        ErrorKind.UNPROCESSABLE,
        _("The receipts' total is not the total of the fee lines."),
    )
    CLAIM_RECEIPT_ALREADY_CLAIMED = (
        ErrorKind.CONFLICT,
        _("A receipt is already part of another claim that is not rejected or withdrawn."),
    )
    CLAIM_PAYOUT_INVALID = (
        ErrorKind.UNPROCESSABLE,
        _("The payout cannot go there (a bank account needs its holder and number)."),
    )
    CLAIM_ALREADY_REVIEWED = ErrorKind.CONFLICT, _("This claim is no longer awaiting review.")
    CLAIM_DECISION_INVALID = ErrorKind.INVALID, _("The review decision is incomplete or invalid.")
    CLAIM_PARTIAL_AMOUNT_INVALID = (
        ErrorKind.UNPROCESSABLE,
        _("A partly approved amount is more than zero and less than the fund's share."),
    )
    CLAIM_FILING_NOT_FOLLOWED = (
        ErrorKind.UNPROCESSABLE,
        _("The insured city asks for a cross-city filing after an emergency, and none followed."),
    )
