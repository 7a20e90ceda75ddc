from django.utils.translation import gettext_lazy as _

from common.errors import ErrorCodes, ErrorKind


class UploadErrorCode(ErrorCodes):
    NO_PUBLIC_CHANNEL = (
        ErrorKind.UNPROCESSABLE,
        _("This city has no public channel to the national platform, so it never uploads."),
    )
