from common.errors import ErrorCodes, ErrorKind


class UploadErrorCode(ErrorCodes):
    NO_PUBLIC_CHANNEL = (
        ErrorKind.UNPROCESSABLE,
        "This city has no public channel to the national platform, so it never uploads.",
    )
