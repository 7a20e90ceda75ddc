"""Documents the problem responses every operation can answer with, and where an operation's
description comes from."""

import inspect

from drf_spectacular.openapi import AutoSchema as _SpectacularAutoSchema

from common.errors import CommonErrorCode, ErrorCodes

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details. Branch on `code`; `detail` is safe to show a user. "
    "Some problems add members of their own (e.g. `current_status`, `locked_until`); none ever "
    "takes the name of a member listed here, so `status` is always the HTTP status.",
    "required": ["type", "title", "status", "detail", "code", "request_id"],
    "properties": {
        "type": {
            "type": "string",
            "format": "uri-reference",
            "example": "/api/v1/problems/NOT_FOUND",
        },
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Stable machine code; see /api/v1/problems."},
        "request_id": {"type": "string"},
        "instance": {"type": "string"},
        "current_status": {
            "type": "string",
            "description": "State conflicts (409): the record's state when it was refused, e.g. "
            "`PENDING` for a card still being made.",
            "example": "PENDING",
        },
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "code", "message"],
                "properties": {
                    "field": {"type": "string", "example": "line_items.0.amount"},
                    "pointer": {"type": "string", "example": "/line_items/0/amount"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}

_DESCRIPTIONS = {
    "400": "Invalid input (`VALIDATION_ERROR` with field `errors`, `MALFORMED_REQUEST` or "
    "`REQUEST_NESTED_TOO_DEEPLY`).",
    "401": "Not authenticated, or the token is invalid, expired or revoked.",
    "403": "Authenticated, but this role may not do this.",
    "404": "Not found, or not visible to the caller.",
    "405": "Method not allowed.",
    "406": "The requested representation cannot be produced.",
    "409": "Conflicts with the current state (for instance an invalid state transition).",
    "413": "The request body is over the size this server accepts (`REQUEST_TOO_LARGE`).",
    "415": "Unsupported media type; send application/json.",
    "422": "Refused by a business rule, or an Idempotency-Key reused for a different request.",
    "429": "Rate limited; see Retry-After.",
}
_READ_STATUSES = ("400", "401", "403", "404", "405", "406", "429")
_WRITE_STATUSES = ("400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "429")


# What a client sees for each status, shown with the most common code of that status.
_EXAMPLE_CODES = {
    "400": CommonErrorCode.VALIDATION_ERROR,
    "401": CommonErrorCode.NOT_AUTHENTICATED,
    "403": CommonErrorCode.PERMISSION_DENIED,
    "404": CommonErrorCode.NOT_FOUND,
    "405": CommonErrorCode.METHOD_NOT_ALLOWED,
    "406": CommonErrorCode.NOT_ACCEPTABLE,
    "409": CommonErrorCode.CONFLICT,
    "413": CommonErrorCode.REQUEST_TOO_LARGE,
    "415": CommonErrorCode.UNSUPPORTED_MEDIA_TYPE,
    "422": CommonErrorCode.IDEMPOTENCY_KEY_REUSED,
    "429": CommonErrorCode.RATE_LIMITED,
}


def _problem_example(code: ErrorCodes) -> dict:
    body = {
        "type": f"/api/v1/problems/{code.code}",
        "title": code.title,
        "status": code.status,
        "detail": code.title,
        "code": code.code,
        "request_id": "9b2f6c1e0d7a4e35",
    }
    if code is CommonErrorCode.VALIDATION_ERROR:
        body["detail"] = "Some fields are invalid; see errors."
        body["errors"] = [
            {
                "field": "line_items.0.unit_price",
                "pointer": "/line_items/0/unit_price",
                "code": "invalid",
                "message": 'Send an amount as a decimal string, like "12.50".',
            }
        ]
    return body


def add_problem_responses(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    problem_content = {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }

    def problem_content_for(status: str) -> dict:
        code = _EXAMPLE_CODES.get(status)
        if code is None:
            return problem_content
        media = dict(problem_content["application/problem+json"])
        media["examples"] = {code.code: {"value": _problem_example(code), "summary": code.title}}
        return {"application/problem+json": media}

    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            statuses = _READ_STATUSES if method == "get" else _WRITE_STATUSES
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses.setdefault(
                    status,
                    {"description": _DESCRIPTIONS[status], "content": problem_content_for(status)},
                )
            # A view may name an error it answers with (to say when); its body is still a problem.
            for status, response in responses.items():
                if status.startswith("4") and "content" not in response:
                    response["content"] = problem_content
    return result


class AutoSchema(_SpectacularAutoSchema):
    """Names each view's nested serializers after the view (``LoginApi.InputSerializer`` becomes
    ``LoginInput``), so many views can each have an InputSerializer and an OutputSerializer."""

    def get_description(self) -> str:
        """Only what is written for this operation: the handler's docstring where this view class
        defines the handler, else this class's own docstring. drf-spectacular would otherwise
        fall back to a base class's or mixin's docstring, which describes code, not the API."""
        view_class = type(self.view)
        handler_name = getattr(self.view, "action", None) or self.method.lower()
        handler = view_class.__dict__.get(handler_name)
        doc = getattr(handler, "__doc__", None) or view_class.__dict__.get("__doc__")
        return inspect.cleandoc(doc) if doc else ""

    def get_serializer_name(self, serializer, direction):
        cls = serializer.__class__
        parts = cls.__qualname__.split(".")
        if len(parts) > 1:
            owner = parts[-2].removesuffix("Api")
            return owner + parts[-1].removesuffix("Serializer")
        return super().get_serializer_name(serializer, direction)


# The formats of the request headers the API reads, so a client (or a generated request) can send
# a valid one: the same rules the server applies (api/idempotency.py, access.presented_credential,
# cards.services).
_HEADER_FORMATS = {
    "Idempotency-Key": {
        "type": "string",
        "pattern": "^[!-~]{1,255}$",
        "minLength": 1,
        "maxLength": 255,
        "example": "5f0c9a52-3f1e-4c59-9f4e-2d1b7a6c8e10",
    },
    "X-Presented-Credential": {
        "type": "string",
        "pattern": "^(CARD|EVOUCHER) [!-~]{1,64}$",
        "example": "CARD A33010012345",
    },
    "X-Card-PIN": {"type": "string", "pattern": "^[0-9]{6}$", "example": "418207"},
}

# What a client can do next with what an operation answered: (operation, status) to the
# operations that take an id from the body, by link name, with the parameter and where the id is.
_LINKS = {
    ("settlements_create", "201"): {
        "GetSettlement": ("settlements_retrieve", "settlement_id", "/id"),
        "ReverseSettlement": ("settlements_reversal_create", "settlement_id", "/id"),
    },
    ("settlements_reversal_create", "200"): {
        "GetSettlement": ("settlements_retrieve", "settlement_id", "/id"),
    },
    ("sandbox_scenarios_create", "201"): {
        "GetPerson": ("persons_retrieve", "person_id", "/person/id"),
        "GetBalance": ("persons_balance_retrieve", "person_id", "/person/id"),
        "GetEVoucher": ("persons_evoucher_retrieve", "person_id", "/person/id"),
        "ListContributions": ("persons_contributions_list", "person_id", "/person/id"),
    },
    ("persons_create", "201"): {
        "GetPerson": ("persons_retrieve", "person_id", "/id"),
        "GetBalance": ("persons_balance_retrieve", "person_id", "/id"),
        "CreateLogin": ("persons_login_create", "person_id", "/id"),
    },
    ("cards_create", "201"): {
        "GetCard": ("cards_retrieve", "card_id", "/id"),
        "CollectCard": ("cards_collect_create", "card_id", "/id"),
        "ActivateCard": ("cards_activate_create", "card_id", "/id"),
        "ReportCardLost": ("cards_report_lost_create", "card_id", "/id"),
    },
    ("cards_collect_create", "200"): {
        "ActivateCard": ("cards_activate_create", "card_id", "/id"),
        "ReportCardLost": ("cards_report_lost_create", "card_id", "/id"),
    },
    ("cards_activate_create", "200"): {
        "GetCard": ("cards_retrieve", "card_id", "/id"),
        "ReportCardLost": ("cards_report_lost_create", "card_id", "/id"),
    },
    ("cards_report_lost_create", "200"): {
        "ReplaceCard": ("cards_replace_create", "card_id", "/id"),
    },
    ("cards_replace_create", "201"): {
        "GetCard": ("cards_retrieve", "card_id", "/id"),
        "CollectCard": ("cards_collect_create", "card_id", "/id"),
    },
    ("filings_create", "201"): {
        "GetFiling": ("filings_retrieve", "filing_id", "/id"),
        "RevokeFiling": ("filings_revocation_create", "filing_id", "/id"),
    },
    ("family_authorizations_create", "201"): {
        "GetAuthorization": ("family_authorizations_retrieve", "authorization_id", "/id"),
        "RevokeAuthorization": (
            "family_authorizations_revocation_create",
            "authorization_id",
            "/id",
        ),
    },
    ("employers_create", "201"): {
        "GetEmployer": ("employers_retrieve", "employer_id", "/id"),
        "SetPaymentMode": ("employers_payment_mode_create", "employer_id", "/id"),
        "AddEmployee": ("employers_employees_create", "employer_id", "/id"),
    },
    ("contribution_collections_create", "201"): {
        "GetCollection": ("contribution_collections_retrieve", "job_id", "/id"),
    },
    ("crediting_runs_create", "201"): {
        "GetCreditingRun": ("crediting_runs_retrieve", "job_id", "/id"),
    },
    ("uploads_create", "201"): {
        "GetUpload": ("uploads_retrieve", "upload_id", "/id"),
    },
}


def add_header_formats_and_links(result, generator, request, public):
    """Gives the request headers their formats and the responses their OpenAPI links (create,
    then read, act on and reverse what was created)."""
    operations = {}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            operations[operation.get("operationId")] = operation
            for parameter in operation.get("parameters", []):
                header_format = _HEADER_FORMATS.get(parameter.get("name"))
                if parameter.get("in") == "header" and header_format is not None:
                    parameter["schema"] = dict(header_format)
    for (operation_id, status), links in _LINKS.items():
        response = operations.get(operation_id, {}).get("responses", {}).get(status)
        if response is None:
            continue
        response["links"] = {
            name: {
                "operationId": target,
                "parameters": {parameter: f"$response.body#{pointer}"},
            }
            for name, (target, parameter, pointer) in links.items()
            if target in operations
        }
    return result
