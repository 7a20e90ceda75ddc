from common.errors import ErrorCodes


class UploadErrorCode(ErrorCodes):
    NO_PUBLIC_CHANNEL = (
        422,
        "This city has no public channel to the national platform, so it never uploads.",
    )
