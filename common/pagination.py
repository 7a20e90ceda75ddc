import re

from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, PageNumberPagination

from common.errors import CommonErrorCode, DomainError, field_error


class PagePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


_ID_POSITION = re.compile(r"[0-9]{1,19}")
_BIGINT_MAX = 2**63 - 1


class NewestFirstCursorPagination(CursorPagination):
    """A stable order under inserts: for ledger history and other append-only lists."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def decode_cursor(self, request):
        """DRF checks a cursor's offset and direction but hands its position to the database as
        it came; a cursor is opaque to clients, so anything but a row id is a crafted one."""
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            # DRF answers an undecodable cursor with a 404; a bad parameter is a 400 here.
            raise _invalid_cursor() from None
        if cursor is None or cursor.position is None:
            return cursor
        position = cursor.position
        if not (_ID_POSITION.fullmatch(position) and int(position) <= _BIGINT_MAX):
            raise _invalid_cursor()
        return cursor


def _invalid_cursor() -> DomainError:
    return DomainError(
        CommonErrorCode.VALIDATION_ERROR,
        "The cursor is not one this API gave out; start again without it.",
        errors=[field_error("cursor", "Invalid cursor.", "invalid")],
    )
