"""One exception base for the whole project; each app keeps its own enum of error codes.

A client branches on ``code`` (the enum member's name), never on the message.
"""

from enum import Enum
from typing import Any

from django.utils.translation import gettext_lazy as _


class ErrorKind(Enum):
    """What went wrong, in the domain's terms; common.problems alone decides the HTTP status."""

    INVALID = "invalid"
    NOT_AUTHENTICATED = "not_authenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    UNPROCESSABLE = "unprocessable"
    TOO_LARGE = "too_large"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"
    # Only the HTTP plumbing meets these; no domain rule raises them.
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"


class ErrorCodes(Enum):
    """Base for each app's error-code enum: ``NAME = ErrorKind.X, "title safe to show a user"``."""

    def __new__(cls, kind: ErrorKind, title: str):
        if not isinstance(kind, ErrorKind):
            raise TypeError(f"{cls.__name__}: an error code names an ErrorKind, not {kind!r}")
        member = object.__new__(cls)
        member._value_ = f"{cls.__name__}.{len(cls.__members__)}"
        member.kind = kind
        member.title = title
        return member

    @property
    def code(self) -> str:
        return self.name

    @property
    def status(self) -> int:
        """The HTTP status this code is answered with, read from the one mapping."""
        # Imported here: the mapping belongs to the HTTP plumbing, which imports this module.
        from common.problems import HTTP_STATUS_BY_KIND

        return HTTP_STATUS_BY_KIND[self.kind]


class CommonErrorCode(ErrorCodes):
    VALIDATION_ERROR = ErrorKind.INVALID, _("The request has invalid fields.")
    MALFORMED_REQUEST = ErrorKind.INVALID, _("The request body could not be read.")
    NOT_AUTHENTICATED = (
        ErrorKind.NOT_AUTHENTICATED,
        _("Authentication credentials were not provided."),
    )
    AUTHENTICATION_FAILED = (
        ErrorKind.NOT_AUTHENTICATED,
        _("The credentials are invalid, expired or revoked."),
    )
    PERMISSION_DENIED = ErrorKind.FORBIDDEN, _("You are not allowed to do this.")
    NOT_FOUND = ErrorKind.NOT_FOUND, _("Nothing was found at this address.")
    METHOD_NOT_ALLOWED = ErrorKind.METHOD_NOT_ALLOWED, _("This method is not allowed here.")
    NOT_ACCEPTABLE = ErrorKind.NOT_ACCEPTABLE, _("The requested representation cannot be produced.")
    UNSUPPORTED_MEDIA_TYPE = (
        ErrorKind.UNSUPPORTED_MEDIA_TYPE,
        _("The request's media type is not supported."),
    )
    IDEMPOTENCY_KEY_REUSED = (
        ErrorKind.UNPROCESSABLE,
        _("This Idempotency-Key was already used with a different request."),
    )
    IDEMPOTENCY_KEY_INVALID = ErrorKind.INVALID, _("The Idempotency-Key header is malformed.")
    CONFLICT = ErrorKind.CONFLICT, _("The request conflicts with the current state.")
    REQUEST_TOO_LARGE = (
        ErrorKind.TOO_LARGE,
        _("The request body is larger than this server accepts."),
    )
    REQUEST_NESTED_TOO_DEEPLY = ErrorKind.INVALID, _("The request body is nested too deeply.")
    RATE_LIMITED = ErrorKind.RATE_LIMITED, _("Too many requests; retry later.")
    SANDBOX_DISABLED = ErrorKind.NOT_FOUND, _("Sandbox mode is off on this server.")
    INTERNAL_ERROR = (
        ErrorKind.INTERNAL,
        _("Something went wrong on our side; the request id helps us find it."),
    )
    SERVICE_UNAVAILABLE = ErrorKind.UNAVAILABLE, _("The service is temporarily unavailable.")


# The members every problem body carries itself (RFC 9457's, then this project's): an extension
# member may never take one of these names, or a record's state could pass for the HTTP status.
RESERVED_PROBLEM_MEMBERS = frozenset(
    {"type", "title", "status", "detail", "instance", "code", "request_id", "errors"}
)


class DomainError(Exception):
    """A refusal with a stable code, raised by the domain; common.problems turns it into an
    RFC 9457 problem response with the HTTP status of the code's kind."""

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
