from common.errors import ErrorCodes


class UserErrorCode(ErrorCodes):
    INVALID_CREDENTIALS = 400, "The username or password is wrong."
    ROLE_NOT_ALLOWED = 403, "Your role may not do this."
    CITY_NOT_ADMINISTERED = 403, "You do not administer this city."
    CREDENTIAL_REQUIRED = 403, "Present the person's card or e-voucher (X-Presented-Credential)."
    CREDENTIAL_INVALID = 403, "The presented card or e-voucher cannot be used."
