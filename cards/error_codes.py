from django.utils.translation import gettext_lazy as _

from common.errors import ErrorCodes, ErrorKind


class CardErrorCode(ErrorCodes):
    CARD_TRANSITION_NOT_ALLOWED = (
        ErrorKind.CONFLICT,
        _("The card cannot do that in its current state."),
    )
    CARD_ALREADY_HELD = (
        ErrorKind.CONFLICT,
        _("The person already has a card that is not lost; report it lost first."),
    )
    CARD_PIN_INVALID = ErrorKind.INVALID, _("The PIN must be 6 digits and not trivially guessable.")
    AGENT_ID_REQUIRED = (
        ErrorKind.INVALID,
        _("An entrusted agent must present their own valid ID and the insured person's."),
    )
    INSURED_ID_MISMATCH = (
        ErrorKind.UNPROCESSABLE,
        _("The ID presented does not match the insured person."),
    )
    EVOUCHER_TRANSITION_NOT_ALLOWED = (
        ErrorKind.CONFLICT,
        _("The e-voucher cannot do that in its current state."),
    )
    AGREEMENT_VERSION_NOT_CURRENT = (
        ErrorKind.UNPROCESSABLE,
        _("Accept the current version of the user agreement."),
    )
    FACE_AUTH_LOCKED = (
        ErrorKind.CONFLICT,
        _("Too many failed face authentications; try again later."),
    )
    SANDBOX_OUTCOME_NOT_ALLOWED = (
        ErrorKind.INVALID,
        _("Choosing a face-authentication outcome needs sandbox mode."),
    )
    INSTITUTION_NOT_PHARMACY = (
        ErrorKind.FORBIDDEN,
        _("Only a designated pharmacy's terminal can activate an e-voucher offline."),
    )
    IDENTITY_NOT_VERIFIED = (
        ErrorKind.UNPROCESSABLE,
        _("The ID number, the name on the ID card and the face check did not verify together."),
    )
    CARD_PIN_REQUIRED = (
        ErrorKind.FORBIDDEN,
        _("Paying from the personal account with a card needs the cardholder's PIN."),
    )
    CARD_PIN_INCORRECT = ErrorKind.FORBIDDEN, _("The card's PIN is not correct.")
    CARD_PIN_LOCKED = (
        ErrorKind.CONFLICT,
        _("Too many wrong PINs; the card pays from no account until the lock ends."),
    )
    FACE_AUTH_UNAVAILABLE = (
        ErrorKind.CONFLICT,
        _("The face-authentication provider is unavailable; try again shortly (see Retry-After)."),
    )
    CARD_ACTIVATED_AT_COUNTER = (
        ErrorKind.FORBIDDEN,
        _(
            "A card is activated at the medical-insurance agency's counter, with your ID and a PIN you choose there."
        ),
    )
