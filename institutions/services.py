"""Writes about institutions: the record of a designated hospital or pharmacy.

What an institution needs besides its record (a ledger account, its city's policy) is provisioned
by the flows above this app, which call ``institution_create`` first.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from common.audit import acting_user
from common.errors import CommonErrorCode, DomainError, field_error
from institutions.models import Institution


def institution_create(
    *,
    code: str,
    name: str,
    kind: str,
    city,
    level: int | None = None,
    is_designated: bool = True,
    by=None,
) -> Institution:
    """The institution with this code, created from these fields if there is none (idempotent on
    code: a second call returns the first one's record unchanged)."""
    with transaction.atomic():
        institution = Institution.objects.filter(code=code).first()
        if institution is not None:
            return institution
        institution = Institution(
            code=code,
            name=name,
            kind=kind,
            level=level,
            city=city,
            is_designated=is_designated,
        )
        try:
            institution.full_clean()
        except ValidationError as exc:
            raise DomainError(
                CommonErrorCode.VALIDATION_ERROR,
                _("The institution's fields are invalid."),
                errors=[
                    field_error(field, str(message))
                    for field, messages in exc.message_dict.items()
                    for message in messages
                ],
            ) from None
        institution._history_user = acting_user(by)
        institution.save()
        return institution
