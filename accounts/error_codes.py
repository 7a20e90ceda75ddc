from common.errors import ErrorCodes


class LedgerErrorCode(ErrorCodes):
    TRANSFER_UNBALANCED = 422, "A transfer's entries must sum to zero."
    TRANSFER_INVALID_AMOUNT = (
        400,
        "Amounts must be non-zero, finite and have at most two decimal places.",
    )
    TRANSFER_KEY_CONFLICT = 409, "This transfer key was already used for a different movement."
    INSUFFICIENT_FUNDS = 422, "The account does not hold enough money."
    ACCOUNT_NOT_FOUND = 404, "No such account."
    CONTRIBUTION_ALREADY_RECORDED = 409, "A contribution for this period is already recorded."
    CONTRIBUTION_PERIOD_INVALID = 400, "The contribution period does not fit the person's scheme."
    CONTRIBUTION_BEFORE_ENROLMENT = 422, "The period is before the person's enrolment."
    CREDITING_PERIOD_NOT_DUE = 422, "That month's crediting is not due yet."
