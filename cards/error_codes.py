from common.errors import ErrorCodes


class CardErrorCode(ErrorCodes):
    CARD_TRANSITION_NOT_ALLOWED = 409, "The card cannot do that in its current state."
    CARD_ALREADY_HELD = 409, "The person already has a card that is not lost; report it lost first."
    CARD_PIN_INVALID = 400, "The PIN must be 6 digits and not trivially guessable."
    AGENT_ID_REQUIRED = (
        400,
        "An entrusted agent must present their own valid ID and the insured person's.",
    )
    INSURED_ID_MISMATCH = 422, "The ID presented does not match the insured person."
    EVOUCHER_TRANSITION_NOT_ALLOWED = 409, "The e-voucher cannot do that in its current state."
    AGREEMENT_VERSION_NOT_CURRENT = 422, "Accept the current version of the user agreement."
    FACE_AUTH_LOCKED = 409, "Too many failed face authentications; try again later."
    SANDBOX_OUTCOME_NOT_ALLOWED = 400, "Choosing a face-authentication outcome needs sandbox mode."
    INSTITUTION_NOT_PHARMACY = (
        403,
        "Only a designated pharmacy's terminal can activate an e-voucher offline.",
    )
    IDENTITY_NOT_VERIFIED = (
        422,
        "The ID number, the name on the ID card and the face check did not verify together.",
    )
    CARD_PIN_REQUIRED = (
        403,
        "Paying from the personal account with a card needs the cardholder's PIN.",
    )
    CARD_PIN_INCORRECT = 403, "The card's PIN is not correct."
    CARD_PIN_LOCKED = (
        409,
        "Too many wrong PINs; the card pays from no account until the lock ends.",
    )
    FACE_AUTH_UNAVAILABLE = (
        409,
        "The face-authentication provider is unavailable; try again shortly (see Retry-After).",
    )
