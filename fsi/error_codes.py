from django.utils.translation import gettext_lazy as _

from common.errors import ErrorCodes, ErrorKind


class FsiErrorCode(ErrorCodes):
    """Refusals of the national platform interface's envelope and its own transactions."""

    ENVELOPE_INVALID = ErrorKind.INVALID, _("The message envelope has missing or invalid fields.")
    INFNO_UNKNOWN = ErrorKind.NOT_FOUND, _("No transaction answers this infno.")
    MSGID_INVALID = (
        ErrorKind.INVALID,
        _("A msgid is the institution's code, the time as yyyyMMddHHmmss and a sequence number."),
    )
    MSGID_REUSED = (
        ErrorKind.UNPROCESSABLE,
        _("This msgid was already used for a different message; send a new msgid."),
    )
    MESSAGE_CORRECTED = (
        ErrorKind.CONFLICT,
        _("This msgid was corrected (2601) before the message arrived; it is not carried out."),
    )
    FIXMEDINS_MISMATCH = (
        ErrorKind.FORBIDDEN,
        _("fixmedins_code is not the institution the caller's token belongs to."),
    )
    TERMINAL_ONLY = (
        ErrorKind.FORBIDDEN,
        _("Only a designated institution's terminal can call this."),
    )
    SIGN_IN_REQUIRED = (
        ErrorKind.FORBIDDEN,
        _("Sign in (9001) first and send the sign_no it gave in every message."),
    )
    PLATFORM_BUSY = (
        ErrorKind.UNAVAILABLE,
        _("The platform is busy and carried nothing out; send the same message again later."),
    )
    INPUT_INVALID = ErrorKind.INVALID, _("The transaction's input has missing or invalid fields.")
    CERT_TYPE_NOT_ACCEPTED = (
        ErrorKind.UNPROCESSABLE,
        _(
            "This credential type does not identify a person at a terminal; present the card or the e-voucher."
        ),
    )
    PERSON_MISMATCH = (
        ErrorKind.UNPROCESSABLE,
        _("The person's details sent do not match the person whose credential is presented."),
    )
    ORIGINAL_NOT_CORRECTABLE = (
        ErrorKind.UNPROCESSABLE,
        _("That transaction is not corrected by 2601."),
    )
    ORIGINAL_INFNO_MISMATCH = (
        ErrorKind.UNPROCESSABLE,
        _("The original message with that msgid is of another transaction (oinfno)."),
    )
