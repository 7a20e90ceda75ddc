"""Per-request context (the request id and the Idempotency-Key) that logs, audit records, events
and Celery tasks carry."""

from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="")
idempotency_key_var: ContextVar[str] = ContextVar("idempotency_key", default="")


def current_request_id() -> str:
    return request_id_var.get()


def current_idempotency_key() -> str:
    return idempotency_key_var.get()
