import logging
import re
import time
import uuid

from django.conf import settings
from django.utils import translation

from common.context import request_id_var

logger = logging.getLogger("yibao.requests")

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Gives every request an id (the client's X-Request-ID if well-formed), logs the request,
    and returns the id on every response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        supplied = request.headers.get("X-Request-ID", "")
        request_id = supplied if _CLIENT_REQUEST_ID.match(supplied) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


class NulCharacterGuardMiddleware:
    """Refuses a NUL character in a path parameter or a query parameter with field errors,
    before any view looks it up: PostgreSQL text cannot hold one, so it would surface as a
    database error. (Bodies are checked by common.parsers.SafeJSONParser.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        from common.errors import CommonErrorCode, field_error
        from common.problems import problem_json_response

        message = "Null characters are not allowed."
        errors = [
            field_error(name, message, "null_characters_not_allowed")
            for name, value in view_kwargs.items()
            if isinstance(value, str) and "\x00" in value
        ]
        errors += [
            field_error(name.replace("\x00", "") or "query", message, "null_characters_not_allowed")
            for name, values in request.GET.lists()
            if "\x00" in name or any("\x00" in value for value in values)
        ]
        if "\x00" in request.path and not errors:
            errors = [field_error("path", message, "null_characters_not_allowed")]
        if errors:
            return problem_json_response(
                CommonErrorCode.VALIDATION_ERROR,
                request,
                translation.gettext("Some fields are invalid; see errors."),
                errors=errors,
            )
        return None


class LanguageQueryMiddleware:
    """``?lang=zh-hans`` (or ``en``) chooses the language of this answer, where a browser link
    cannot set Accept-Language; an HTML page (the admin, the demo home) remembers the choice in
    the language cookie, so the pages it links to stay in that language. Runs after
    LocaleMiddleware, which has chosen from the cookie and Accept-Language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = _supported_language(request.GET.get("lang", ""))
        if chosen:
            translation.activate(chosen)
            request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        if chosen and response.get("Content-Type", "").startswith("text/html"):
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                chosen,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response


def _supported_language(requested: str) -> str | None:
    """The supported language a ``lang`` value names (``zh-Hans``, ``zh_hans``, ``EN``), or None."""
    if not requested or len(requested) > 20:
        return None
    try:
        return translation.get_supported_language_variant(requested.replace("_", "-").lower())
    except LookupError:
        return None
