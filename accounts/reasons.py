"""The reason catalogue: why a balance is not shown (or shows 0.00), with its remedy.

The codes are part of the API contract and never change meaning. Their order is the order in
which a query meets them on its way from the user to the money; a response lists every reason
that applies in this order, and the first is the primary one.
"""

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext_lazy as _


class ReasonCode(StrEnum):
    CITY_INQUIRY_NOT_LAUNCHED = "CITY_INQUIRY_NOT_LAUNCHED"
    EVOUCHER_NOT_ACTIVATED = "EVOUCHER_NOT_ACTIVATED"
    WRONG_CHANNEL = "WRONG_CHANNEL"
    PERSONAL_ACCOUNT_ABOLISHED = "PERSONAL_ACCOUNT_ABOLISHED"
    CARD_NOT_ACTIVATED = "CARD_NOT_ACTIVATED"
    DATA_NOT_UPLOADED = "DATA_NOT_UPLOADED"
    PLATFORM_BUSY = "PLATFORM_BUSY"
    FUNDS_NOT_YET_TRANSFERRED = "FUNDS_NOT_YET_TRANSFERRED"


REASON_ORDER: tuple[ReasonCode, ...] = tuple(ReasonCode)

REASON_TITLES: dict[ReasonCode, str] = {
    ReasonCode.CITY_INQUIRY_NOT_LAUNCHED: _("Your city has not launched online inquiry"),
    ReasonCode.EVOUCHER_NOT_ACTIVATED: _(
        "Your electronic medical-insurance voucher is not activated"
    ),
    ReasonCode.WRONG_CHANNEL: _("This channel cannot show the personal account"),
    ReasonCode.PERSONAL_ACCOUNT_ABOLISHED: _("Residents no longer have a personal account here"),
    ReasonCode.CARD_NOT_ACTIVATED: _("Your social security card is not activated"),
    ReasonCode.DATA_NOT_UPLOADED: _("Your account data has not reached the national platform"),
    ReasonCode.PLATFORM_BUSY: _("The query platform is busy"),
    ReasonCode.FUNDS_NOT_YET_TRANSFERRED: _("The first crediting has not been posted yet"),
}

# Which reasons hide the balance; the last one only explains a balance of 0.00.
HIDING_REASONS = frozenset(REASON_ORDER) - {ReasonCode.FUNDS_NOT_YET_TRANSFERRED}

# Where the reason is documented from (for the catalogue endpoint).
REASON_SOURCES: dict[ReasonCode, str] = {
    ReasonCode.CITY_INQUIRY_NOT_LAUNCHED: _(
        "Not every city has launched online e-insurance inquiry."
    ),
    ReasonCode.EVOUCHER_NOT_ACTIVATED: _("The e-voucher must be activated before use."),
    ReasonCode.WRONG_CHANNEL: _(
        "The card carries a personal account and a pooled (fund) account; the "
        "personal account's balance is shown at designated hospitals, pharmacies and agencies."
    ),
    ReasonCode.PERSONAL_ACCOUNT_ABOLISHED: _(
        "Resident personal accounts gave way to outpatient pooling."
    ),
    ReasonCode.CARD_NOT_ACTIVATED: _(
        "An unactivated physical card keeps the balance from showing; at "
        "a terminal only when it is the credential presented."
    ),
    ReasonCode.DATA_NOT_UPLOADED: _(
        "Cities upload account data to the national platform on their own schedule."
    ),
    ReasonCode.PLATFORM_BUSY: _(
        "The platform serves a limited query load; at peak, data is not shown."
    ),
    ReasonCode.FUNDS_NOT_YET_TRANSFERRED: _(
        "A new account stays at zero until the first crediting is posted."
    ),
}


@dataclass(frozen=True)
class Reason:
    code: ReasonCode
    detail: str
    remedy: str
    retry_after: int | None = None
    expected_date: date | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return REASON_TITLES[self.code]

    @property
    def hides_balance(self) -> bool:
        return self.code in HIDING_REASONS

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code.value,
            "title": str(self.title),
            "detail": self.detail,
            "remedy": self.remedy,
            "retry_after": self.retry_after,
            "expected_date": self.expected_date,
            **self.extra,
        }


def in_catalogue_order(reasons: list[Reason]) -> list[Reason]:
    return sorted(reasons, key=lambda reason: REASON_ORDER.index(reason.code))


REASON_CHOICES = [(code.value, REASON_TITLES[code]) for code in REASON_ORDER]
