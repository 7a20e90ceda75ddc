from common.errors import ErrorCodes


class SandboxErrorCode(ErrorCodes):
    SCENARIO_NOT_FOUND = 404, "No scenario with this code; see GET /api/v1/sandbox/scenarios."
    CLOCK_CANNOT_GO_BACK = 409, "The simulated clock only moves forward."
    CLOCK_STEP_TOO_LARGE = 422, "Advance the clock by at most 400 days at a time."
