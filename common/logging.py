import logging

from common.context import current_request_id


class RequestIdFilter(logging.Filter):
    """Stamps every log record with the request id (Django's own request logs carry the request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "request_id", "") or current_request_id()
        return True
