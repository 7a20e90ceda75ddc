from django.utils.translation import gettext_lazy as _

from common.errors import ErrorCodes, ErrorKind


class UserErrorCode(ErrorCodes):
    INVALID_CREDENTIALS = ErrorKind.INVALID, _("The username or password is wrong.")
    ROLE_NOT_ALLOWED = ErrorKind.FORBIDDEN, _("Your role may not do this.")
    CITY_NOT_ADMINISTERED = ErrorKind.FORBIDDEN, _("You do not administer this city.")
    CREDENTIAL_REQUIRED = (
        ErrorKind.FORBIDDEN,
        _("Present the person's card or e-voucher (X-Presented-Credential)."),
    )
    CREDENTIAL_INVALID = ErrorKind.FORBIDDEN, _("The presented card or e-voucher cannot be used.")
