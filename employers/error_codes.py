from django.utils.translation import gettext_lazy as _

from common.errors import ErrorCodes, ErrorKind


class EmployerErrorCode(ErrorCodes):
    CREDIT_CODE_INVALID = ErrorKind.INVALID, _("The unified social credit code is not valid.")
    CREDIT_CODE_TAKEN = (
        ErrorKind.CONFLICT,
        _("An employer with this unified social credit code is already registered."),
    )
    PAYMENT_MODE_INVALID = ErrorKind.INVALID, _("The payment mode and its base ratio do not fit.")
    EMPLOYEE_NOT_ELIGIBLE = (
        ErrorKind.UNPROCESSABLE,
        _("Only an active employee insured in the employer's city can be its employee."),
    )
    NO_ARREARS = ErrorKind.CONFLICT, _("The employer owes no unpaid months.")
