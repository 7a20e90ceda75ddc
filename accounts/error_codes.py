from common.errors import ErrorCodes, ErrorKind


class LedgerErrorCode(ErrorCodes):
    TRANSFER_UNBALANCED = ErrorKind.UNPROCESSABLE, "A transfer's entries must sum to zero."
    TRANSFER_INVALID_AMOUNT = (
        ErrorKind.INVALID,
        "Amounts must be non-zero, finite and have at most two decimal places.",
    )
    TRANSFER_KEY_CONFLICT = (
        ErrorKind.CONFLICT,
        "This transfer key was already used for a different movement.",
    )
    INSUFFICIENT_FUNDS = ErrorKind.UNPROCESSABLE, "The account does not hold enough money."
    ACCOUNT_NOT_FOUND = ErrorKind.NOT_FOUND, "No such account."
    CONTRIBUTION_ALREADY_RECORDED = (
        ErrorKind.CONFLICT,
        "A contribution for this period is already recorded.",
    )
    CONTRIBUTION_PERIOD_INVALID = (
        ErrorKind.INVALID,
        "The contribution period does not fit the person's scheme.",
    )
    CONTRIBUTION_BEFORE_ENROLMENT = (
        ErrorKind.UNPROCESSABLE,
        "The period is before the person's enrolment.",
    )
    CREDITING_PERIOD_NOT_DUE = ErrorKind.UNPROCESSABLE, "That month's crediting is not due yet."
