from common.errors import ErrorCodes, ErrorKind


class SettlementErrorCode(ErrorCodes):
    INSTITUTION_NOT_DESIGNATED = (
        ErrorKind.FORBIDDEN,
        "This institution is not designated for direct settlement.",
    )
    TERMINAL_REQUIRED = ErrorKind.FORBIDDEN, "Only a designated institution's terminal can settle."
    CARD_NOT_ACTIVE = (
        ErrorKind.UNPROCESSABLE,
        "The card has not been activated; activate it at the agency, or present the e-voucher.",
    )
    NOT_YET_ENROLLED = ErrorKind.UNPROCESSABLE, "The person's insurance has not started yet."
    VISIT_TYPE_NOT_OFFERED = (
        ErrorKind.UNPROCESSABLE,
        "This institution does not offer that kind of visit.",
    )
    CATALOG_ITEM_UNKNOWN = (
        ErrorKind.UNPROCESSABLE,
        "A line item is not in the medical-insurance catalog.",
    )
    LINE_AMOUNT_INVALID = ErrorKind.INVALID, "A line item's amount is not a valid amount of money."
    BENEFIT_RULE_MISSING = (
        ErrorKind.UNPROCESSABLE,
        "The city's policy has no rule for this visit; ask the agency.",
    )
    CROSS_CITY_FILING_REQUIRED = (
        ErrorKind.UNPROCESSABLE,
        "The person is insured in another city and has no valid cross-city filing for this one.",
    )
    VISIT_ALREADY_SETTLED = (
        ErrorKind.CONFLICT,
        "This visit reference is already settled at this institution.",
    )
    SETTLEMENT_ALREADY_REVERSED = ErrorKind.CONFLICT, "This settlement is already reversed."
    FAMILY_AUTHORIZATION_MISSING = (
        ErrorKind.UNPROCESSABLE,
        "That account holder has not authorised this person to use their personal account.",
    )
    FAMILY_AID_NEEDS_PERSONAL_ACCOUNT = (
        ErrorKind.INVALID,
        "Paying from a family member's account means using a personal account.",
    )
    FAMILY_HOLDER_NOT_ELIGIBLE = (
        ErrorKind.UNPROCESSABLE,
        "Only an employee with a personal account can share it with family.",
    )
    FAMILY_BENEFICIARY_UNKNOWN = (
        ErrorKind.UNPROCESSABLE,
        "No insured person matches that ID number and name.",
    )
    FAMILY_BENEFICIARY_IS_HOLDER = (
        ErrorKind.UNPROCESSABLE,
        "An account holder cannot authorise themselves.",
    )
    FAMILY_AID_OTHER_CITY = (
        ErrorKind.UNPROCESSABLE,
        "Family mutual aid is limited to relatives insured in the same city here.",
    )
    FAMILY_AUTHORIZATION_EXISTS = ErrorKind.CONFLICT, "This relative is already authorised."
    FAMILY_AUTHORIZATION_REVOKED = ErrorKind.CONFLICT, "This authorisation is already revoked."
    FILING_CITY_INVALID = (
        ErrorKind.UNPROCESSABLE,
        "A cross-city filing names a city other than the insured city.",
    )
    FILING_VALIDITY_INVALID = ErrorKind.INVALID, "The filing's validity dates are not usable."
    FILING_OVERLAPS = (
        ErrorKind.CONFLICT,
        "A filing for this city already covers part of that period.",
    )
    FILING_ALREADY_REVOKED = ErrorKind.CONFLICT, "This filing is already revoked."
    BENEFIT_POLICY_MISSING = (
        ErrorKind.UNPROCESSABLE,
        "The insured city has no benefit policy yet; ask the agency.",
    )
