"""``Idempotency-Key`` for state-changing and money-moving POSTs.

The key is recorded in the same database transaction as the work it guards, so the work and its
record commit together or not at all. A concurrent request with the same key waits on the unique
index until the first one ends, then replays its response. A replay returns the first response;
the same key with a different request (another body, query or presented credential) is refused. Refusals (4xx) are not recorded: nothing
happened, so a corrected retry may reuse the key.
"""

import hashlib
import json
import re
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from cards.credentials import PRESENTED_CREDENTIAL_HEADER
from common.context import current_request_id, idempotency_key_var
from common.errors import CommonErrorCode, DomainError, field_error
from common.models import IdempotencyRecord

HEADER = "Idempotency-Key"
_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
_REPLAYED_HEADERS = ("Location", "Retry-After")


def request_fingerprint(request) -> str:
    """Everything that can change what the request does: the caller, the credential presented
    for a person (a replay must never hand one person's result to another), the method, path,
    query string and body. Stored only as this hash. A card's PIN (X-Card-PIN) is left out: a
    hash of six digits gives them away to whoever tries every PIN, and the settlement checks the
    PIN before any replay."""
    try:
        body = json.dumps(request.data, sort_keys=True, cls=JSONEncoder, separators=(",", ":"))
    except TypeError:
        body = repr(request.data)
    query = urlencode(sorted(request.query_params.lists()), doseq=True)
    presented = " ".join(request.headers.get(PRESENTED_CREDENTIAL_HEADER, "").split())
    caller = getattr(request.user, "pk", None)
    material = json.dumps([caller, presented, request.method, request.path, query, body])
    return hashlib.sha256(material.encode()).hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    response = Response(record.response_body, status=record.response_status)
    for name, value in record.response_headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(handler: Callable) -> Callable:
    """Decorate an APIView's ``post``: the whole handler runs in one transaction, guarded by the
    caller's Idempotency-Key when one is sent."""

    @wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            with transaction.atomic():
                return handler(view, request, *args, **kwargs)
        if not _KEY_PATTERN.match(key):
            raise DomainError(
                CommonErrorCode.IDEMPOTENCY_KEY_INVALID,
                _("Idempotency-Key must be 1 to 255 visible ASCII characters."),
                errors=[field_error(HEADER, _("Malformed key."))],
            )
        fingerprint = request_fingerprint(request)
        owner = request.user
        # Events recorded by the work carry the key that caused them.
        key_token = idempotency_key_var.set(key)
        try:
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        record = IdempotencyRecord.objects.create(
                            owner=owner,
                            key=key,
                            fingerprint=fingerprint,
                            method=request.method,
                            path=request.path[:512],
                            response_status=0,
                            request_id=current_request_id(),
                        )
                except IntegrityError:
                    existing = IdempotencyRecord.objects.get(owner=owner, key=key)
                    if existing.fingerprint != fingerprint:
                        raise DomainError(
                            CommonErrorCode.IDEMPOTENCY_KEY_REUSED,
                            _(
                                "This Idempotency-Key was first used for a different request; use a new key for a new request."
                            ),
                            extra={"first_request_id": existing.request_id},
                        ) from None
                    return _replay(existing)

                response = handler(view, request, *args, **kwargs)
                if not 200 <= response.status_code < 300:
                    # Nothing happened; drop the record with everything else.
                    transaction.set_rollback(True)
                    return response
                record.response_status = response.status_code
                record.response_body = json.loads(json.dumps(response.data, cls=JSONEncoder))
                record.response_headers = {
                    name: response[name] for name in _REPLAYED_HEADERS if response.has_header(name)
                }
                record.save(update_fields=["response_status", "response_body", "response_headers"])
                return response
        finally:
            idempotency_key_var.reset(key_token)

    return wrapper
