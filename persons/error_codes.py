from common.errors import ErrorCodes


class PersonErrorCode(ErrorCodes):
    RESIDENT_ID_INVALID = 400, "The resident ID number is not valid."
    ALREADY_ENROLLED = 409, "A person with this resident ID number is already enrolled."
    SCHEME_FIELDS_INVALID = 400, "The fields do not fit the chosen scheme."
    PERSON_NOT_FOUND = 404, "No such insured person."
    LOGIN_EXISTS = 409, "This person already has a login."
    USERNAME_TAKEN = 409, "This username is taken."
