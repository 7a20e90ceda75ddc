"""Per-request context (the request id) that logs, audit records and Celery tasks carry."""

from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="")


def current_request_id() -> str:
    return request_id_var.get()
