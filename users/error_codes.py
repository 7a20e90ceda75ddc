from common.errors import ErrorCodes, ErrorKind


class UserErrorCode(ErrorCodes):
    INVALID_CREDENTIALS = ErrorKind.INVALID, "The username or password is wrong."
    ROLE_NOT_ALLOWED = ErrorKind.FORBIDDEN, "Your role may not do this."
    CITY_NOT_ADMINISTERED = ErrorKind.FORBIDDEN, "You do not administer this city."
    CREDENTIAL_REQUIRED = (
        ErrorKind.FORBIDDEN,
        "Present the person's card or e-voucher (X-Presented-Credential).",
    )
    CREDENTIAL_INVALID = ErrorKind.FORBIDDEN, "The presented card or e-voucher cannot be used."
