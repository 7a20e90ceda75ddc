"""The JSON parser every view reads bodies with: what Python's json module accepts, minus what
would otherwise reach the code below as a crash (a RecursionError, a number the database cannot
hold, a NUL character no text column can store)."""

import json
from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from common.errors import CommonErrorCode, DomainError, field_error

# Deeper than any body this API documents (a settlement's line items are three levels down).
MAX_JSON_DEPTH = 32
# PostgreSQL's bigint, the widest integer column here.
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            # json recurses once per level; DRF turns only its ValueErrors into a ParseError.
            raise _too_deep() from None
        except ParseError as exc:
            # DRF's detail carries Python's English message; say where, in the caller's language.
            raise ParseError(_not_json(exc.__context__)) from None
        errors = sorted(_refused_values(data), key=lambda error: error["field"])
        if errors:
            raise DomainError(
                CommonErrorCode.VALIDATION_ERROR,
                _("Some fields are invalid; see errors."),
                errors=errors,
            )
        return data


def _not_json(cause: BaseException | None) -> str:
    if isinstance(cause, json.JSONDecodeError):
        return _(
            "The request body is not valid JSON: the error is at line %(line)s, column %(column)s."
        ) % {"line": cause.lineno, "column": cause.colno}
    return _("The request body is not valid JSON (or not UTF-8).")


def _too_deep() -> DomainError:
    return DomainError(
        CommonErrorCode.REQUEST_NESTED_TOO_DEEPLY,
        _("The request body nests objects or arrays more than %(MAX_JSON_DEPTH)s levels deep.")
        % {"MAX_JSON_DEPTH": MAX_JSON_DEPTH},
    )


def _refused_values(data: Any):
    """Field errors for integers outside bigint and strings with NUL characters; a DomainError
    for nesting beyond MAX_JSON_DEPTH. Walks without recursion, so depth cannot crash it."""
    pending: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while pending:
        value, path = pending.pop()
        if len(path) > MAX_JSON_DEPTH:
            raise _too_deep()
        field = ".".join(path) or "non_field_errors"
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    yield field_error(field, _("A member name contains a NUL character."), "null")
                    continue
                pending.append((item, (*path, key)))
        elif isinstance(value, list):
            pending.extend((item, (*path, str(index))) for index, item in enumerate(value))
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int) and not BIGINT_MIN <= value <= BIGINT_MAX:
            yield field_error(
                field,
                _("Must be between -9223372036854775808 and 9223372036854775807."),
                "max_value",
            )
        elif isinstance(value, str) and "\x00" in value:
            yield field_error(
                field, _("Null characters are not allowed."), "null_characters_not_allowed"
            )
