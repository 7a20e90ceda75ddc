from django.utils.translation import gettext_lazy as _

from common.errors import ErrorCodes, ErrorKind


class LedgerErrorCode(ErrorCodes):
    TRANSFER_UNBALANCED = ErrorKind.UNPROCESSABLE, _("A transfer's entries must sum to zero.")
    TRANSFER_INVALID_AMOUNT = (
        ErrorKind.INVALID,
        _("Amounts must be non-zero, finite and have at most two decimal places."),
    )
    TRANSFER_KEY_CONFLICT = (
        ErrorKind.CONFLICT,
        _("This transfer key was already used for a different movement."),
    )
    INSUFFICIENT_FUNDS = ErrorKind.UNPROCESSABLE, _("The account does not hold enough money.")
    ACCOUNT_NOT_FOUND = ErrorKind.NOT_FOUND, _("No such account.")
    CONTRIBUTION_ALREADY_RECORDED = (
        ErrorKind.CONFLICT,
        _("A contribution for this period is already recorded."),
    )
    CONTRIBUTION_PERIOD_INVALID = (
        ErrorKind.INVALID,
        _("The contribution period does not fit the person's scheme."),
    )
    CONTRIBUTION_BEFORE_ENROLMENT = (
        ErrorKind.UNPROCESSABLE,
        _("The period is before the person's enrolment."),
    )
    CREDITING_PERIOD_NOT_DUE = ErrorKind.UNPROCESSABLE, _("That month's crediting is not due yet.")
