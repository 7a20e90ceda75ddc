from django.utils.translation import gettext_lazy as _

from common.errors import ErrorCodes, ErrorKind


class PersonErrorCode(ErrorCodes):
    RESIDENT_ID_INVALID = ErrorKind.INVALID, _("The resident ID number is not valid.")
    ALREADY_ENROLLED = (
        ErrorKind.CONFLICT,
        _("A person with this resident ID number is already enrolled."),
    )
    SCHEME_FIELDS_INVALID = ErrorKind.INVALID, _("The fields do not fit the chosen scheme.")
    LOGIN_EXISTS = ErrorKind.CONFLICT, _("This person already has a login.")
    USERNAME_TAKEN = ErrorKind.CONFLICT, _("This username is taken.")
    SUBSIDY_CATEGORY_NOT_QUALIFIED = (
        ErrorKind.UNPROCESSABLE,
        _("The person does not qualify for this subsidy category (age or scheme)."),
    )
