"""RFC 9457 problem details: the one place where every error becomes a response."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, OperationalError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings

from common.context import current_request_id
from common.errors import (
    RESERVED_PROBLEM_MEMBERS,
    CommonErrorCode,
    DomainError,
    ErrorCodes,
    ErrorKind,
    field_error,
)

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

# The one place a kind of error becomes an HTTP status; every code's `status` reads it.
HTTP_STATUS_BY_KIND: dict[ErrorKind, int] = {
    ErrorKind.INVALID: 400,
    ErrorKind.NOT_AUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.METHOD_NOT_ALLOWED: 405,
    ErrorKind.NOT_ACCEPTABLE: 406,
    ErrorKind.CONFLICT: 409,
    ErrorKind.TOO_LARGE: 413,
    ErrorKind.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorKind.UNPROCESSABLE: 422,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.INTERNAL: 500,
    ErrorKind.UNAVAILABLE: 503,
}

_DRF_CODES: list[tuple[type[exceptions.APIException], ErrorCodes]] = [
    (exceptions.ParseError, CommonErrorCode.MALFORMED_REQUEST),
    (exceptions.NotAuthenticated, CommonErrorCode.NOT_AUTHENTICATED),
    (exceptions.AuthenticationFailed, CommonErrorCode.AUTHENTICATION_FAILED),
    (exceptions.PermissionDenied, CommonErrorCode.PERMISSION_DENIED),
    (exceptions.NotFound, CommonErrorCode.NOT_FOUND),
    (exceptions.MethodNotAllowed, CommonErrorCode.METHOD_NOT_ALLOWED),
    (exceptions.NotAcceptable, CommonErrorCode.NOT_ACCEPTABLE),
    (exceptions.UnsupportedMediaType, CommonErrorCode.UNSUPPORTED_MEDIA_TYPE),
    (exceptions.Throttled, CommonErrorCode.RATE_LIMITED),
]


def problem_body(
    code: ErrorCodes,
    detail: str,
    *,
    instance: str = "",
    errors: list[dict[str, str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"/api/v1/problems/{code.code}",
        "title": code.title,
        "status": code.status,
        "detail": detail,
        "code": code.code,
        "request_id": current_request_id(),
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    for name, value in (extra or {}).items():
        if name in RESERVED_PROBLEM_MEMBERS:
            # DomainError refuses these when raised; no other caller may overwrite them either.
            logger.error("problem extension member %r dropped: the name is reserved", name)
            continue
        body[name] = value
    return body


def flatten_validation_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """Turn DRF's nested error structure into a flat list with a dotted field path each."""
    if isinstance(detail, dict):
        flat = []
        for key, value in detail.items():
            name = str(key) if key != api_settings.NON_FIELD_ERRORS_KEY else ""
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            flat.extend(flatten_validation_errors(value, path))
        return flat
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [
                field_error(
                    prefix or "non_field_errors", str(item), getattr(item, "code", "invalid")
                )
                for item in detail
            ]
        flat = []
        for index, item in enumerate(detail):
            flat.extend(
                flatten_validation_errors(item, f"{prefix}.{index}" if prefix else str(index))
            )
        return flat
    return [
        field_error(prefix or "non_field_errors", str(detail), getattr(detail, "code", "invalid"))
    ]


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    request = context.get("request")
    instance = request.path if request is not None else ""
    headers: dict[str, str] = {}

    if isinstance(exc, DomainError):
        body = problem_body(
            exc.code, exc.detail, instance=instance, errors=exc.errors, extra=exc.extra
        )
        headers.update(exc.headers)
        return Response(
            body, status=exc.code.status, headers=headers, content_type=PROBLEM_CONTENT_TYPE
        )

    if isinstance(exc, RequestDataTooBig):
        body = problem_body(
            CommonErrorCode.REQUEST_TOO_LARGE, _too_large_detail(), instance=instance
        )
        return Response(body, status=body["status"], content_type=PROBLEM_CONTENT_TYPE)

    if isinstance(exc, DataError):
        # Input the database could not hold (a number out of its range, a NUL character) that no
        # validation caught: the caller's fault, so a 400, but logged so the gap gets closed.
        logger.warning("input refused by the database", extra={"path": instance}, exc_info=exc)
        body = problem_body(
            CommonErrorCode.VALIDATION_ERROR,
            "A value in the request is out of range or contains a character that is not allowed.",
            instance=instance,
        )
        return Response(body, status=body["status"], content_type=PROBLEM_CONTENT_TYPE)

    if isinstance(exc, OperationalError):
        # The database is there but cannot serve this request now (no connection slot left, a
        # lock not granted in time, a dropped connection): nothing was done, so try again soon.
        logger.error("database unavailable", extra={"path": instance}, exc_info=exc)
        body = problem_body(
            CommonErrorCode.SERVICE_UNAVAILABLE,
            "The database cannot serve this request right now; nothing was changed. "
            "Try again in a few seconds.",
            instance=instance,
        )
        return Response(
            body,
            status=body["status"],
            headers={"Retry-After": "5"},
            content_type=PROBLEM_CONTENT_TYPE,
        )

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_validation_errors(exc.detail)
        body = problem_body(
            CommonErrorCode.VALIDATION_ERROR,
            _("Some fields are invalid; see errors."),
            instance=instance,
            errors=errors,
        )
        return Response(body, status=body["status"], content_type=PROBLEM_CONTENT_TYPE)

    if isinstance(exc, exceptions.APIException):
        code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), None)
        if code is None:
            code = (
                CommonErrorCode.CONFLICT
                if exc.status_code == 409
                else CommonErrorCode.VALIDATION_ERROR
            )
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait) + 1)
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            authenticator = getattr(request, "_authenticator", None) or (
                request.authenticators[0]
                if request is not None and request.authenticators
                else None
            )
            if authenticator is not None and hasattr(authenticator, "authenticate_header"):
                headers["WWW-Authenticate"] = authenticator.authenticate_header(request)
        detail = exc.detail if isinstance(exc.detail, str) else code.title
        body = problem_body(code, str(detail), instance=instance)
        return Response(
            body, status=code.status, headers=headers, content_type=PROBLEM_CONTENT_TYPE
        )

    # Anything else is our fault: log it with its stack, answer without leaking it.
    logger.exception("unhandled error", extra={"path": instance})
    body = problem_body(
        CommonErrorCode.INTERNAL_ERROR, CommonErrorCode.INTERNAL_ERROR.title, instance=instance
    )
    return Response(body, status=body["status"], content_type=PROBLEM_CONTENT_TYPE)


def _too_large_detail() -> str:
    from django.conf import settings

    return _("The request body is over %(limit)s bytes; send less in one request.") % {
        "limit": f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,}"
    }


def problem_json_response(
    code: ErrorCodes,
    request,
    detail: str | None = None,
    *,
    errors: list[dict[str, str]] | None = None,
) -> JsonResponse:
    body = problem_body(code, detail or code.title, instance=request.path, errors=errors)
    return JsonResponse(body, status=code.status, content_type=PROBLEM_CONTENT_TYPE)


# Django-level handlers, for what never reaches a DRF view (unknown routes, CSRF, crashes).


def _wants_a_page(request) -> bool:
    """A browser on the admin or the home page gets an HTML page; API clients (and anything on
    /api/) get problem details."""
    return not request.path.startswith("/api/") and "text/html" in request.headers.get("Accept", "")


def handler400(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return problem_json_response(
            CommonErrorCode.REQUEST_TOO_LARGE, request, _too_large_detail()
        )
    if _wants_a_page(request):
        return defaults.bad_request(request, exception)
    return problem_json_response(CommonErrorCode.MALFORMED_REQUEST, request)


def handler403(request, exception=None):
    if _wants_a_page(request):
        return defaults.permission_denied(request, exception)
    return problem_json_response(CommonErrorCode.PERMISSION_DENIED, request)


def handler404(request, exception=None):
    if _wants_a_page(request):
        return defaults.page_not_found(request, exception)
    return problem_json_response(CommonErrorCode.NOT_FOUND, request)


def handler500(request):
    if _wants_a_page(request):
        return defaults.server_error(request)
    return problem_json_response(CommonErrorCode.INTERNAL_ERROR, request)


def csrf_failure(request, reason=""):
    if not request.path.startswith("/api/"):
        from django.views.csrf import csrf_failure as html_csrf_failure

        return html_csrf_failure(request, reason)
    return problem_json_response(
        CommonErrorCode.PERMISSION_DENIED, request, _("The CSRF check failed; send a valid token.")
    )
