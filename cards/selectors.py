"""Reads about cards and e-vouchers."""

import hashlib
from datetime import datetime

from cards.models import EVoucher, EVoucherPresentationCode


def presentation_code_digest(code: str) -> str:
    """How a presentation code is stored and looked up. The codes are long and random, so a plain
    SHA-256 is enough to keep them out of the database."""
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def evoucher_person_presenting(*, code: str, now: datetime) -> int | None:
    """The person whose current, unexpired presentation code this is; None for any other code
    (unknown, expired, replaced by a newer one)."""
    return (
        EVoucherPresentationCode.objects.filter(
            digest=presentation_code_digest(code),
            retired_at__isnull=True,
            expires_at__gt=now,
            evoucher__status=EVoucher.Status.ACTIVATED,
        )
        .values_list("evoucher__person_id", flat=True)
        .first()
    )
