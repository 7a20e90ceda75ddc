from django.utils.translation import gettext_lazy as _

from common.errors import ErrorCodes, ErrorKind


class SandboxErrorCode(ErrorCodes):
    SCENARIO_NOT_FOUND = (
        ErrorKind.NOT_FOUND,
        _("No scenario with this code; see GET /api/v1/sandbox/scenarios."),
    )
    CLOCK_CANNOT_GO_BACK = ErrorKind.CONFLICT, _("The simulated clock only moves forward.")
    CLOCK_STEP_TOO_LARGE = (
        ErrorKind.UNPROCESSABLE,
        _("Advance the clock by at most 400 days at a time."),
    )
