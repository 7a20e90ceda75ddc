from common.errors import ErrorCodes


class SettlementErrorCode(ErrorCodes):
    INSTITUTION_NOT_DESIGNATED = (
        403,
        "This institution is not designated for direct settlement.",
    )
    TERMINAL_REQUIRED = 403, "Only a designated institution's terminal can settle."
    CARD_NOT_ACTIVE = (
        422,
        "The card has not been activated; activate it at the agency, or present the e-voucher.",
    )
    NOT_YET_ENROLLED = 422, "The person's insurance has not started yet."
    VISIT_TYPE_NOT_OFFERED = 422, "This institution does not offer that kind of visit."
    CATALOG_ITEM_UNKNOWN = 422, "A line item is not in the medical-insurance catalog."
    LINE_AMOUNT_INVALID = 400, "A line item's amount is not a valid amount of money."
    BENEFIT_RULE_MISSING = 422, "The city's policy has no rule for this visit; ask the agency."
    CROSS_CITY_FILING_REQUIRED = (
        422,
        "The person is insured in another city and has no valid cross-city filing for this one.",
    )
    VISIT_ALREADY_SETTLED = 409, "This visit reference is already settled at this institution."
    SETTLEMENT_ALREADY_REVERSED = 409, "This settlement is already reversed."
    FAMILY_AUTHORIZATION_MISSING = (
        422,
        "That account holder has not authorised this person to use their personal account.",
    )
    FAMILY_AID_NEEDS_PERSONAL_ACCOUNT = (
        400,
        "Paying from a family member's account means using a personal account.",
    )
    FAMILY_HOLDER_NOT_ELIGIBLE = (
        422,
        "Only an employee with a personal account can share it with family.",
    )
    FAMILY_BENEFICIARY_UNKNOWN = (
        422,
        "No insured person matches that ID number and name.",
    )
    FAMILY_BENEFICIARY_IS_HOLDER = 422, "An account holder cannot authorise themselves."
    FAMILY_AID_OTHER_CITY = (
        422,
        "Family mutual aid is limited to relatives insured in the same city here.",
    )
    FAMILY_AUTHORIZATION_EXISTS = 409, "This relative is already authorised."
    FAMILY_AUTHORIZATION_REVOKED = 409, "This authorisation is already revoked."
    FILING_CITY_INVALID = 422, "A cross-city filing names a city other than the insured city."
    FILING_VALIDITY_INVALID = 400, "The filing's validity dates are not usable."
    FILING_OVERLAPS = 409, "A filing for this city already covers part of that period."
    FILING_ALREADY_REVOKED = 409, "This filing is already revoked."
    BENEFIT_POLICY_MISSING = 422, "The insured city has no benefit policy yet; ask the agency."
