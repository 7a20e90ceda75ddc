import re

from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, PageNumberPagination

from common.errors import CommonErrorCode, DomainError, field_error

_POSITIVE_NUMBER = re.compile(r"[1-9][0-9]{0,18}")


def checked_page_size(paginator, request) -> int:
    """The page size asked for (at most ``max_page_size``), or the default when none is asked:
    DRF quietly uses the default for ``?page_size=abc`` or ``0``; here that is a field error."""
    raw = request.query_params.get(paginator.page_size_query_param)
    if raw is None:
        return paginator.page_size
    if not _POSITIVE_NUMBER.fullmatch(raw):
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            errors=[field_error("page_size", _("Send a whole number from 1."), "invalid")],
        )
    return min(int(raw), paginator.max_page_size)


class PagePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    # A page is a number; DRF would also take "last" and read an empty ?page= as the first.
    last_page_strings = ()

    def get_page_size(self, request):
        return checked_page_size(self, request)

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        if not _POSITIVE_NUMBER.fullmatch(raw):
            raise DomainError(
                CommonErrorCode.VALIDATION_ERROR,
                errors=[field_error("page", _("Send a page number from 1."), "invalid")],
            )
        return raw


_ID_POSITION = re.compile(r"[0-9]{1,19}")
_BIGINT_MAX = 2**63 - 1


class NewestFirstCursorPagination(CursorPagination):
    """A stable order under inserts: for ledger history and other append-only lists."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        return checked_page_size(self, request)

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
        _("The cursor is not one this API gave out; start again without it."),
        errors=[field_error("cursor", _("Invalid cursor."), "invalid")],
    )
