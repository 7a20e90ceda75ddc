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
    WORLD_NOT_FOUND = ErrorKind.NOT_FOUND, _("No sandbox world of yours has this id.")
    WORLDS_FULL = (
        ErrorKind.CONFLICT,
        _("The sandbox has no room for another world; delete one of yours first."),
    )
    WORLD_ENTANGLED = (
        ErrorKind.CONFLICT,
        _("Money of this world moved to or from accounts outside it, so it cannot be deleted."),
    )
    DEVELOPER_ONLY = (
        ErrorKind.FORBIDDEN,
        _("Only a sandbox developer login has worlds (POST /api/v1/sandbox/developers)."),
    )
