"""One exception base for the whole project; each app keeps its own enum of error codes.

A client branches on ``code`` (the enum member's name), never on the message.
"""

from enum import Enum
from typing import Any


class ErrorCodes(Enum):
    """Base for each app's error-code enum: ``NAME = status, "title safe to show a user"``."""

    def __new__(cls, status: int, title: str):
        member = object.__new__(cls)
        member._value_ = f"{cls.__name__}.{len(cls.__members__)}"
        member.status = status
        member.title = title
        return member

    @property
    def code(self) -> str:
        return self.name


class CommonErrorCode(ErrorCodes):
    VALIDATION_ERROR = 400, "The request has invalid fields."
    MALFORMED_REQUEST = 400, "The request body could not be read."
    NOT_AUTHENTICATED = 401, "Authentication credentials were not provided."
    AUTHENTICATION_FAILED = 401, "The credentials are invalid, expired or revoked."
    PERMISSION_DENIED = 403, "You are not allowed to do this."
    NOT_FOUND = 404, "Nothing was found at this address."
    METHOD_NOT_ALLOWED = 405, "This method is not allowed here."
    NOT_ACCEPTABLE = 406, "The requested representation cannot be produced."
    UNSUPPORTED_MEDIA_TYPE = 415, "The request's media type is not supported."
    IDEMPOTENCY_KEY_REUSED = 422, "This Idempotency-Key was already used with a different request."
    IDEMPOTENCY_KEY_INVALID = 400, "The Idempotency-Key header is malformed."
    CONFLICT = 409, "The request conflicts with the current state."
    REQUEST_TOO_LARGE = 413, "The request body is larger than this server accepts."
    REQUEST_NESTED_TOO_DEEPLY = 400, "The request body is nested too deeply."
    RATE_LIMITED = 429, "Too many requests; retry later."
    SANDBOX_DISABLED = 404, "Sandbox mode is off on this server."
    INTERNAL_ERROR = 500, "Something went wrong on our side; the request id helps us find it."
    SERVICE_UNAVAILABLE = 503, "The service is temporarily unavailable."


# The members every problem body carries itself (RFC 9457's, then this project's): an extension
# member may never take one of these names, or a record's state could pass for the HTTP status.
RESERVED_PROBLEM_MEMBERS = frozenset(
    {"type", "title", "status", "detail", "instance", "code", "request_id", "errors"}
)


class ProblemError(Exception):
    """A refusal with a stable code; turned into an RFC 9457 problem response by one handler."""

    def __init__(
        self,
        code: ErrorCodes,
        detail: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        clashing = RESERVED_PROBLEM_MEMBERS.intersection(extra or {})
        if clashing:
            raise TypeError(
                f"problem extension members {sorted(clashing)} would overwrite the problem's own; "
                "name them for what they hold (e.g. current_status)"
            )
        self.code = code
        self.detail = detail or code.title
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(f"{code.code}: {self.detail}")

    @property
    def status(self) -> int:
        return self.code.status


def field_error(field: str, message: str, code: str = "invalid") -> dict[str, str]:
    return {
        "field": field,
        "pointer": "/" + field.replace(".", "/"),
        "code": code,
        "message": message,
    }


def violated_constraint(exc: BaseException) -> str | None:
    """The name of the constraint (or trigger-raised rule) PostgreSQL reported for an
    ``IntegrityError``, from psycopg's diagnostics rather than the message text, which the
    server's language and version may change."""
    cause = exc.__cause__
    diag = getattr(cause, "diag", None)
    return getattr(diag, "constraint_name", None)
