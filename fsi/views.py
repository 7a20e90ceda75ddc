"""The interface's one service URL, and its documentation pages."""

import time

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions

from common.errors import CommonErrorCode, ErrorCodes
from fsi import docs
from fsi.envelope import arrival_of, message_answer, refusal_answer
from fsi.error_codes import FsiErrorCode
from users.authentication import ApiTokenAuthentication
from users.models import User


def _envelope_response(answer: dict, status: int) -> JsonResponse:
    return JsonResponse(answer, status=status, json_dumps_params={"ensure_ascii": False})


def _unlogged(code: ErrorCodes, detail: str, *, status: int, request, started: float):
    """A refusal before any institution is known: answered as an envelope, not logged (an
    anonymous caller cannot fill the message log)."""
    answer = refusal_answer(
        code,
        detail,
        refmsgid="",
        now=timezone.now(),
        started=started,
        request_id=getattr(request, "request_id", ""),
    )
    response = _envelope_response(answer, status)
    if status == 401:
        response["WWW-Authenticate"] = "Token"
    return response


def _terminal(request):
    """The authenticated user, or a DRF authentication exception."""
    result = ApiTokenAuthentication().authenticate(request)
    if result is None:
        raise exceptions.NotAuthenticated()
    return result[0]


@csrf_exempt
def call_service(request):
    started = time.perf_counter()
    if request.method != "POST":
        response = _unlogged(
            CommonErrorCode.METHOD_NOT_ALLOWED,
            "Send each message with POST.",
            status=405,
            request=request,
            started=started,
        )
        response["Allow"] = "POST"
        return response
    try:
        body = request.body
    except RequestDataTooBig:
        return _unlogged(
            CommonErrorCode.REQUEST_TOO_LARGE,
            CommonErrorCode.REQUEST_TOO_LARGE.title,
            status=413,
            request=request,
            started=started,
        )
    try:
        user = _terminal(request)
    except exceptions.NotAuthenticated:
        return _unlogged(
            CommonErrorCode.NOT_AUTHENTICATED,
            "Send the terminal's token: Authorization: Token <token>.",
            status=401,
            request=request,
            started=started,
        )
    except exceptions.AuthenticationFailed as exc:
        return _unlogged(
            CommonErrorCode.AUTHENTICATION_FAILED,
            str(exc.detail),
            status=401,
            request=request,
            started=started,
        )
    if user.role != User.Role.INSTITUTION or user.institution_id is None:
        return _unlogged(
            FsiErrorCode.TERMINAL_ONLY,
            FsiErrorCode.TERMINAL_ONLY.title,
            status=403,
            request=request,
            started=started,
        )
    arrival = arrival_of(user=user, request_id=request.request_id, started=started)
    status, answer = message_answer(body=body, arrival=arrival)
    return _envelope_response(answer, status)


def docs_index(request):
    return render(
        request,
        "fsi/docs_index.html",
        {"pages": docs.transaction_pages(), "envelope": docs.envelope_page()},
    )


def docs_transaction(request, infno: str):
    page = docs.transaction_page(infno)
    if page is None:
        raise Http404(f"No transaction {infno}.")
    return render(
        request,
        "fsi/docs_transaction.html",
        {"page": page},
    )
