from common.errors import ErrorCodes, ErrorKind


class PersonErrorCode(ErrorCodes):
    RESIDENT_ID_INVALID = ErrorKind.INVALID, "The resident ID number is not valid."
    ALREADY_ENROLLED = (
        ErrorKind.CONFLICT,
        "A person with this resident ID number is already enrolled.",
    )
    SCHEME_FIELDS_INVALID = ErrorKind.INVALID, "The fields do not fit the chosen scheme."
    PERSON_NOT_FOUND = ErrorKind.NOT_FOUND, "No such insured person."
    LOGIN_EXISTS = ErrorKind.CONFLICT, "This person already has a login."
    USERNAME_TAKEN = ErrorKind.CONFLICT, "This username is taken."
    SUBSIDY_CATEGORY_NOT_QUALIFIED = (
        ErrorKind.UNPROCESSABLE,
        "The person does not qualify for this subsidy category (age or scheme).",
    )
