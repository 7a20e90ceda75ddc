from django.utils.translation import gettext_lazy as _

from common.errors import ErrorCodes, ErrorKind


class SettlementErrorCode(ErrorCodes):
    INSTITUTION_NOT_DESIGNATED = (
        ErrorKind.FORBIDDEN,
        _("This institution is not designated for direct settlement."),
    )
    TERMINAL_REQUIRED = (
        ErrorKind.FORBIDDEN,
        _("Only a designated institution's terminal can settle."),
    )
    CARD_NOT_ACTIVE = (
        ErrorKind.UNPROCESSABLE,
        _("The card has not been activated; activate it at the agency, or present the e-voucher."),
    )
    NOT_YET_ENROLLED = ErrorKind.UNPROCESSABLE, _("The person's insurance has not started yet.")
    VISIT_TYPE_NOT_OFFERED = (
        ErrorKind.UNPROCESSABLE,
        _("This institution does not offer that kind of visit."),
    )
    CATALOG_ITEM_UNKNOWN = (
        ErrorKind.UNPROCESSABLE,
        _("A line item is not in the medical-insurance catalog."),
    )
    LINE_AMOUNT_INVALID = (
        ErrorKind.INVALID,
        _("A line item's amount is not a valid amount of money."),
    )
    BENEFIT_RULE_MISSING = (
        ErrorKind.UNPROCESSABLE,
        _("The city's policy has no rule for this visit; ask the agency."),
    )
    CROSS_CITY_FILING_REQUIRED = (
        ErrorKind.UNPROCESSABLE,
        _("The person is insured in another city and has no valid cross-city filing for this one."),
    )
    VISIT_ALREADY_SETTLED = (
        ErrorKind.CONFLICT,
        _("This visit reference is already settled at this institution."),
    )
    SETTLEMENT_ALREADY_REVERSED = ErrorKind.CONFLICT, _("This settlement is already reversed.")
    FAMILY_AUTHORIZATION_MISSING = (
        ErrorKind.UNPROCESSABLE,
        _("That account holder has not authorised this person to use their personal account."),
    )
    FAMILY_AID_NEEDS_PERSONAL_ACCOUNT = (
        ErrorKind.INVALID,
        _("Paying from a family member's account means using a personal account."),
    )
    FAMILY_HOLDER_NOT_ELIGIBLE = (
        ErrorKind.UNPROCESSABLE,
        _("Only an employee with a personal account can share it with family."),
    )
    FAMILY_BENEFICIARY_UNKNOWN = (
        ErrorKind.UNPROCESSABLE,
        _("No insured person matches that ID number and name."),
    )
    FAMILY_BENEFICIARY_IS_HOLDER = (
        ErrorKind.UNPROCESSABLE,
        _("An account holder cannot authorise themselves."),
    )
    FAMILY_AID_OTHER_CITY = (
        ErrorKind.UNPROCESSABLE,
        _("Family mutual aid is limited to relatives insured in the same city here."),
    )
    FAMILY_AUTHORIZATION_EXISTS = ErrorKind.CONFLICT, _("This relative is already authorised.")
    FAMILY_AUTHORIZATION_REVOKED = ErrorKind.CONFLICT, _("This authorisation is already revoked.")
    FILING_CITY_INVALID = (
        ErrorKind.UNPROCESSABLE,
        _("A cross-city filing names a city other than the insured city."),
    )
    FILING_VALIDITY_INVALID = ErrorKind.INVALID, _("The filing's validity dates are not usable.")
    FILING_OVERLAPS = (
        ErrorKind.CONFLICT,
        _("A filing for this city already covers part of that period."),
    )
    FILING_ALREADY_REVOKED = ErrorKind.CONFLICT, _("This filing is already revoked.")
    BENEFIT_POLICY_MISSING = (
        ErrorKind.UNPROCESSABLE,
        _("The insured city has no benefit policy yet; ask the agency."),
    )
    VISIT_NOT_FOUND = ErrorKind.NOT_FOUND, _("No visit with that id at this institution.")
    VISIT_CANCELLED = ErrorKind.CONFLICT, _("This visit's registration is cancelled.")
    VISIT_SETTLED = (
        ErrorKind.CONFLICT,
        _("This visit is settled; reverse its settlement first to change it."),
    )
    VISIT_NUMBER_IN_USE = (
        ErrorKind.CONFLICT,
        _("An open visit at this institution already has this visit number."),
    )
    VISIT_PERSON_MISMATCH = (
        ErrorKind.UNPROCESSABLE,
        _("The card or e-voucher presented is not that of the visit's person."),
    )
    VISIT_HAS_NO_FEE_LINES = ErrorKind.UNPROCESSABLE, _("The visit has no fee lines to settle.")
    VISIT_NOT_DISCHARGED = (
        ErrorKind.UNPROCESSABLE,
        _("An inpatient visit is settled after the person is discharged."),
    )
    VISIT_ALREADY_DISCHARGED = ErrorKind.CONFLICT, _("The person is already discharged.")
    VISIT_NOT_INPATIENT = ErrorKind.UNPROCESSABLE, _("Only an inpatient visit has a discharge.")
    FEE_LINE_DUPLICATE = (
        ErrorKind.CONFLICT,
        _("A fee line of this visit already has this number; cancel it first to replace it."),
    )
    FEE_LINE_NOT_FOUND = ErrorKind.NOT_FOUND, _("The visit has no live fee line with this number.")
    FEE_LINE_AMOUNT_MISMATCH = (
        ErrorKind.INVALID,
        _("A fee line's total is not its quantity times its unit price."),
    )
    VISIT_TOTAL_MISMATCH = (
        ErrorKind.UNPROCESSABLE,
        _("The total sent is not the total of the visit's live fee lines."),
    )
    SETTLEMENT_NOT_OF_VISIT = ErrorKind.NOT_FOUND, _("The visit has no settlement with that id.")
    CLEARING_PERIOD_NOT_ENDED = (
        ErrorKind.UNPROCESSABLE,
        _("A month is cleared between cities once it has ended."),
    )
    REVERSAL_MOVES_OTHER_CITY_FUND = (
        ErrorKind.FORBIDDEN,
        _(
            "This settlement was paid by the fund of a city you do not administer; an operator of "
            "the insured city, or the institution that settled it, reverses it."
        ),
    )
    EMERGENCY_REIMBURSEMENT_REQUIRED = (
        ErrorKind.UNPROCESSABLE,
        _(
            "The insured city reimburses emergency care outside its network through a claim; it is "
            "not settled directly here."
        ),
    )
