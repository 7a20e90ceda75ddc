"""Notices beside the balance: what a person should know about their account that hides nothing.

A person whose employer has not paid recent months, or pays on a base below their declared wage,
sees a balance that does not grow as it should (Social Insurance Law art. 4: the right to know
whether the employer pays, and to supervise it). The balance stays visible; the answer says why it
is not growing and what to do. A pure function of the facts, like the diagnosis.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from common.money import CURRENCY, ZERO, money


class NoticeCode(StrEnum):
    EMPLOYER_ARREARS = "EMPLOYER_ARREARS"
    EMPLOYER_UNDERPAID = "EMPLOYER_UNDERPAID"


NOTICE_TITLES: dict[NoticeCode, str] = {
    NoticeCode.EMPLOYER_ARREARS: gettext_lazy("Your employer has not paid your contributions"),
    NoticeCode.EMPLOYER_UNDERPAID: gettext_lazy(
        "Your employer paid on a base below your declared wage"
    ),
}


@dataclass(frozen=True)
class EmployerPaymentFacts:
    """What the balance statement reads of an employee's payments: the months the employer left
    unpaid, and the latest month received, with its base used and base due."""

    employer_name: str | None = None
    unpaid_periods: tuple[date, ...] = ()
    unpaid_amount: Decimal = ZERO
    unpaid_account_share: Decimal = ZERO
    latest_period: date | None = None
    latest_base_used: Decimal | None = None
    latest_base_due: Decimal | None = None
    latest_account_share: Decimal | None = None


NO_EMPLOYER_PAYMENT_FACTS = EmployerPaymentFacts()


@dataclass(frozen=True)
class Notice:
    code: NoticeCode
    detail: str
    remedy: str
    months: tuple[date, ...]
    amount_owed: Decimal
    account_share_missing: Decimal

    @property
    def title(self) -> str:
        return NOTICE_TITLES[self.code]

    def as_dict(self) -> dict[str, Any]:
        """Ready for JSON: months as YYYY-MM-01 dates, money with two places."""
        return {
            "code": self.code.value,
            "title": str(self.title),
            "detail": self.detail,
            "remedy": self.remedy,
            "months": [month.isoformat() for month in self.months],
            "amount_owed": f"{self.amount_owed:.2f}",
            "account_share_missing": f"{self.account_share_missing:.2f}",
            "currency": CURRENCY,
            "hotline": settings.NHSA_HOTLINE,
        }


def _employer(facts: EmployerPaymentFacts) -> str:
    return facts.employer_name or _("Your employer")


def _arrears(facts: EmployerPaymentFacts) -> Notice:
    periods = facts.unpaid_periods
    count = len(periods)
    span = (
        _(", ").join(f"{period:%Y-%m}" for period in periods)
        if count <= 3
        else _("%(first)s to %(last)s")
        % {"first": f"{periods[0]:%Y-%m}", "last": f"{periods[-1]:%Y-%m}"}
    )
    return Notice(
        NoticeCode.EMPLOYER_ARREARS,
        detail=ngettext(
            "%(employer)s has not paid your medical-insurance contributions for %(span)s "
            "(%(count)d month, %(amount)s CNY), so your personal account has not received "
            "%(share)s CNY for it and is not growing.",
            "%(employer)s has not paid your medical-insurance contributions for %(span)s "
            "(%(count)d months, %(amount)s CNY), so your personal account has not received "
            "%(share)s CNY for them and is not growing.",
            count,
        )
        % {
            "employer": _employer(facts),
            "span": span,
            "count": count,
            "amount": f"{facts.unpaid_amount:.2f}",
            "share": f"{facts.unpaid_account_share:.2f}",
        },
        remedy=_(
            "Ask your employer to pay the arrears; the missing credits follow at the next "
            "crediting once it does. If it does not, complain to the local medical-insurance "
            "agency or call %(hotline)s: you have the right to supervise your employer's "
            "payments (Social Insurance Law, art. 4)."
        )
        % {"hotline": settings.NHSA_HOTLINE},
        months=periods,
        amount_owed=facts.unpaid_amount,
        account_share_missing=facts.unpaid_account_share,
    )


def _underpaid(facts: EmployerPaymentFacts) -> Notice:
    share_due = money(facts.latest_base_due * facts.latest_account_share / facts.latest_base_used)
    missing = max(ZERO, share_due - facts.latest_account_share)
    return Notice(
        NoticeCode.EMPLOYER_UNDERPAID,
        detail=_(
            "%(employer)s paid your contributions for %(month)s on a base of %(base_used)s CNY, "
            "below the %(base_due)s CNY due on your declared wage, so your personal account "
            "received %(share)s CNY instead of %(share_due)s CNY."
        )
        % {
            "employer": _employer(facts),
            "month": f"{facts.latest_period:%Y-%m}",
            "base_used": f"{facts.latest_base_used:.2f}",
            "base_due": f"{facts.latest_base_due:.2f}",
            "share": f"{facts.latest_account_share:.2f}",
            "share_due": f"{share_due:.2f}",
        },
        remedy=_(
            "Ask your employer to pay on your declared wage and to make up the difference. If "
            "it does not, complain to the local medical-insurance agency or call %(hotline)s "
            "(Social Insurance Law, art. 4)."
        )
        % {"hotline": settings.NHSA_HOTLINE},
        months=(facts.latest_period,),
        amount_owed=ZERO,
        account_share_missing=missing,
    )


def employer_notices(facts: EmployerPaymentFacts) -> tuple[Notice, ...]:
    """Arrears first (the account receives nothing for those months), then an underpaid latest
    month."""
    notices = []
    if facts.unpaid_periods:
        notices.append(_arrears(facts))
    if (
        facts.latest_base_used
        and facts.latest_base_due is not None
        and facts.latest_account_share is not None
        and facts.latest_base_used < facts.latest_base_due
    ):
        notices.append(_underpaid(facts))
    return tuple(notices)
