"""The balance diagnosis: what a channel answers about one person's balance, from their facts.

A pure function of its arguments: it reads no clock, cache or database. The caller passes the
time on the domain's clock and, where the online channel asks the city's platform (see
``asks_platform``), the query limiter's answer.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.reasons import Reason, ReasonCode, in_catalogue_order
from cards.models import EVoucher, SocialSecurityCard
from cities.selectors import (
    agency_call,
    agency_contact,
    agency_where,
    next_contribution_on,
    next_crediting_on,
    next_upload_on,
)
from common import clock
from common.money import CURRENCY, ZERO
from inquiry.channels import Channel
from inquiry.facts import BalanceFacts, CityFacts
from inquiry.notices import Notice, employer_notices

# The kind of an e-voucher presented at a terminal (cards.credentials.PresentedCredential.kind).
EVOUCHER_CREDENTIAL = "EVOUCHER"


@dataclass(frozen=True)
class PlatformBusy:
    """The city's query limiter turned the query away: retry after this many real seconds."""

    retry_after: int


@dataclass(frozen=True)
class Diagnosis:
    person_id: int
    channel: str
    visible: bool
    amount: Decimal | None
    as_of: datetime | None
    source: str | None
    reasons: list[Reason]
    # What the person should know that hides nothing (an employer's arrears or underpayment).
    notices: tuple[Notice, ...] = ()

    @property
    def retry_after(self) -> int | None:
        waits = [reason.retry_after for reason in self.reasons if reason.retry_after]
        return max(waits) if waits else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            "channel": self.channel,
            "visible": self.visible,
            "balance": (
                {
                    "amount": self.amount,
                    "currency": CURRENCY,
                    "as_of": self.as_of,
                    "source": self.source,
                }
                if self.visible
                else None
            ),
            "reasons": [reason.as_dict() for reason in self.reasons],
            "notices": [notice.as_dict() for notice in self.notices],
        }

    def as_json(self) -> dict[str, Any]:
        """``as_dict`` as ``BalanceOutputSerializer`` renders it (money with two places, times in
        the local zone, dates ISO 8601), without a serializer's per-request cost on the hottest
        read. A test holds the two to the same output."""
        data = self.as_dict()
        if data["balance"] is not None:
            as_of = timezone.localtime(self.as_of).isoformat()
            data["balance"] |= {
                "amount": f"{self.amount:.2f}",
                "as_of": as_of[:-6] + "Z" if as_of.endswith("+00:00") else as_of,
            }
        for reason in data["reasons"]:
            if reason["expected_date"] is not None:
                reason["expected_date"] = reason["expected_date"].isoformat()
        return data


def asks_platform(facts: BalanceFacts, channel: str) -> bool:
    """Whether the query goes to the city's online platform, so its limiter must be asked: only
    the online channel, and only where the city has launched online inquiry."""
    return channel == Channel.ONLINE and facts.city.online_inquiry_launched


def diagnose(
    facts: BalanceFacts,
    *,
    channel: str,
    now: datetime,
    platform_busy: PlatformBusy | None,
    credential: str | None = None,
) -> Diagnosis:
    """Every check in the catalogue's order for one person and channel, at ``now``.

    The online channel shows the city's latest uploaded snapshot; the others the live ledger.
    ``platform_busy`` is the limiter's answer where ``asks_platform``; elsewhere it is ignored.
    ``credential`` is the kind presented at an institution terminal ("CARD" or "EVOUCHER"): the
    institution channel answers for that credential, as a settlement with it pays (an activated
    e-voucher serves whatever the card's state; a card serves only once active). Without it the
    institution channel answers for the card.
    """
    today = clock.localdate(now)
    city = facts.city
    online = channel == Channel.ONLINE
    resident_abolished = not facts.is_employee and city.resident_accounts_abolished_by(today)
    reasons = _hiding_reasons(
        facts,
        channel=channel,
        now=now,
        today=today,
        resident_abolished=resident_abolished,
        credential=credential,
    )
    if platform_busy is not None and asks_platform(facts, channel):
        reasons.append(_reason_busy(city, platform_busy.retry_after))

    amount = as_of = source = None
    snapshot = facts.snapshot
    if facts.account_balance is not None:
        if online and snapshot is not None:
            amount, as_of, source = snapshot.balance, snapshot.as_of, "snapshot"
            if amount == 0 and not snapshot.credited and not resident_abolished:
                reasons.append(
                    _reason_funds(facts, today, credited_since_snapshot=facts.has_crediting)
                )
        else:
            amount, as_of, source = facts.account_balance, now, "live"
            if amount == 0 and not facts.has_crediting and not resident_abolished:
                reasons.append(_reason_funds(facts, today, credited_since_snapshot=False))

    reasons = in_catalogue_order(reasons)
    visible = (
        facts.account_balance is not None
        and not resident_abolished
        and not any(reason.hides_balance for reason in reasons)
    )
    return Diagnosis(
        person_id=facts.person_id,
        channel=str(channel),
        visible=visible,
        amount=amount if visible else None,
        as_of=as_of if visible else None,
        source=source if visible else None,
        reasons=reasons,
        notices=employer_notices(facts.employer_payments),
    )


def _hiding_reasons(
    facts: BalanceFacts,
    *,
    channel: str,
    now: datetime,
    today: date,
    resident_abolished: bool,
    credential: str | None,
) -> list[Reason]:
    """The reasons that hide the balance, apart from the platform's load."""
    city = facts.city
    online = channel == Channel.ONLINE
    institution = channel == Channel.INSTITUTION
    by_evoucher = institution and credential == EVOUCHER_CREDENTIAL
    reasons: list[Reason] = []
    if online and not city.online_inquiry_launched:
        reasons.append(_reason_city_inquiry(city))
    if (online or by_evoucher) and facts.evoucher_status != EVoucher.Status.ACTIVATED:
        reasons.append(_reason_evoucher(facts, now))
    if online and not city.personal_account_shown_online:
        reasons.append(_reason_wrong_channel(city))
    if resident_abolished:
        reasons.append(_reason_abolished(facts))
    # Online, an unactivated physical card keeps the balance hidden even behind an activated
    # e-voucher; at a terminal only the card presented has to be active.
    if (
        online or (institution and not by_evoucher)
    ) and facts.card_status != SocialSecurityCard.Status.ACTIVE:
        reasons.append(_reason_card(facts, presented=institution))
    # Every upload carries everyone enrolled in the city, so a person is in the latest upload
    # exactly when the platform holds a snapshot row for them.
    if online and (not city.has_public_upload_channel or facts.snapshot is None):
        reasons.append(_reason_not_uploaded(city, today))
    return reasons


def _agency_where(city: CityFacts) -> str:
    return agency_where(name=city.agency.shown_name, address=city.agency.shown_address)


def _agency_call(city: CityFacts) -> str:
    return agency_call(name=city.agency.shown_name, phone=city.agency.phone)


def _agency_extra(city: CityFacts) -> dict[str, Any]:
    agency = city.agency
    return agency_contact(name=agency.shown_name, address=agency.shown_address, phone=agency.phone)


def _reason_city_inquiry(city: CityFacts) -> Reason:
    return Reason(
        ReasonCode.CITY_INQUIRY_NOT_LAUNCHED,
        detail=_(
            "%(city_name)s has not launched online e-insurance inquiry, so the e-voucher platforms cannot show your balance."
        )
        % {"city_name": city.shown_name},
        remedy=_(
            "Bring your social security card to the counter of %(agency_where)s, or %(agency_call)s to check it."
        )
        % {"agency_where": _agency_where(city), "agency_call": _agency_call(city)},
        extra=_agency_extra(city),
    )


def _reason_evoucher(facts: BalanceFacts, now: datetime) -> Reason:
    locked_until = facts.evoucher_locked_until
    if facts.evoucher_status is not None and locked_until and locked_until > now:
        detail = (
            _(
                "Activation is paused after repeated failed face authentications, until %(locked_until)s."
            )
            % {"locked_until": clock.as_text(locked_until)}
            + clock.simulated_wait_note()
        )
    elif facts.evoucher_status == EVoucher.Status.AGREEMENT_ACCEPTED:
        detail = _("You accepted the user agreement, but face authentication has not been passed.")
    else:
        detail = _(
            "Your electronic medical-insurance voucher has not been activated, so it cannot be used or show your balance."
        )
    return Reason(
        ReasonCode.EVOUCHER_NOT_ACTIVATED,
        detail=detail,
        remedy=_(
            "Activate it in WeChat, Alipay or the national medical-insurance app (accept the user agreement, then pass face authentication), or at a designated pharmacy with your ID."
        ),
    )


def _reason_wrong_channel(city: CityFacts) -> Reason:
    return Reason(
        ReasonCode.WRONG_CHANNEL,
        detail=_(
            "Your medical-insurance card carries two accounts: your personal account, and the pooled (fund) account that pays the insurance's share of your medical costs. In %(city_name)s the personal account's balance is not shown online; designated hospitals, designated pharmacies and medical-insurance agencies show it."
        )
        % {"city_name": city.shown_name},
        remedy=_(
            "Ask with your card at a designated hospital or pharmacy, or at the counter of %(agency_where)s; or %(agency_call)s."
        )
        % {"agency_where": _agency_where(city), "agency_call": _agency_call(city)},
        extra={"channels": [Channel.INSTITUTION.value, Channel.COUNTER.value]}
        | _agency_extra(city),
    )


def _reason_abolished(facts: BalanceFacts) -> Reason:
    city = facts.city
    used = facts.outpatient_pool_paid or ZERO
    remaining = max(ZERO, city.outpatient_pooling_annual_quota - used)
    ratio = int(city.outpatient_pooling_ratio * 100)
    return Reason(
        ReasonCode.PERSONAL_ACCOUNT_ABOLISHED,
        detail=_(
            "Since %(resident_accounts_abolished_on)s, %(city_name)s has replaced resident personal accounts with outpatient pooling: it pays %(ratio)s%% of eligible common outpatient costs, up to %(outpatient_pooling_annual_quota)s CNY a year; %(remaining)s CNY remains this year."
        )
        % {
            "resident_accounts_abolished_on": format(
                city.resident_accounts_abolished_on, "%Y-%m-%d"
            ),
            "city_name": city.shown_name,
            "ratio": ratio,
            "outpatient_pooling_annual_quota": format(city.outpatient_pooling_annual_quota, ".2f"),
            "remaining": format(remaining, ".2f"),
        },
        remedy=_(
            "Nothing to do: settle at designated institutions as usual and outpatient pooling pays its share."
        ),
        extra={
            "outpatient_pooling": {
                "ratio": f"{city.outpatient_pooling_ratio:.4f}",
                "annual_quota": f"{city.outpatient_pooling_annual_quota:.2f}",
                "used": f"{used:.2f}",
                "remaining": f"{remaining:.2f}",
                "currency": CURRENCY,
            }
        },
    )


def _reason_card(facts: BalanceFacts, *, presented: bool) -> Reason:
    """Why the card keeps the balance hidden; ``presented`` at a terminal, where an activated
    e-voucher would serve in its place."""
    status = facts.card_status
    expected = None
    remedy = _("Activate it at %(agency_where)s: bring the card and your ID, and set a PIN.") % {
        "agency_where": _agency_where(facts.city)
    }
    if status is None:
        detail = _("You have no social security card yet.")
        remedy = _(
            "Apply at the county medical-insurance centre (issued on the spot) or a street service point (ready within 3 working days), then activate it at the agency."
        )
    elif status == SocialSecurityCard.Status.PENDING:
        detail = _("Your card is being made; it will be ready on %(card_ready_on)s.") % {
            "card_ready_on": format(facts.card_ready_on, "%Y-%m-%d")
        }
        expected = facts.card_ready_on
        remedy = _(
            "Collect it when it is ready, then activate it at the agency (bring your ID, set a PIN)."
        )
    elif status == SocialSecurityCard.Status.READY:
        detail = _("Your card is ready for pick-up but has not been collected and activated.")
        remedy = _(
            "Collect it at the service point and activate it at the agency (bring your ID, set a PIN)."
        )
    elif status == SocialSecurityCard.Status.LOST:
        detail = _("Your card was reported lost and no replacement has been issued.")
        remedy = _("Apply for a replacement at the agency, then activate the new card.")
    elif presented:
        detail = _(
            "The card presented has been issued but not activated, so it can neither pay nor show the balance here."
        )
    else:
        detail = _("Your physical social security card has been issued but not activated.")
    if presented:
        remedy = _(
            "%(remedy)s Meanwhile, an activated e-voucher can be presented instead of the card."
        ) % {"remedy": remedy}
    return Reason(
        ReasonCode.CARD_NOT_ACTIVATED,
        detail=detail,
        remedy=remedy,
        expected_date=expected,
        extra=_agency_extra(facts.city),
    )


def _next_upload(city: CityFacts, today: date) -> date | None:
    """The city's next upload after today's, when today's has already run."""
    latest = city.latest_upload_as_of
    uploaded_today = latest is not None and clock.localdate(latest) == today
    return next_upload_on(city, today=today, uploaded_today=uploaded_today)


def _reason_not_uploaded(city: CityFacts, today: date) -> Reason:
    if not city.has_public_upload_channel:
        return Reason(
            ReasonCode.DATA_NOT_UPLOADED,
            detail=_(
                "%(city_name)s has no public channel to the national platform, so no account data reaches it."
            )
            % {"city_name": city.shown_name},
            remedy=_(
                "Online inquiry will not show it until the city opens one; designated institutions and the counter of %(agency_where)s read the live account meanwhile (or %(agency_call)s)."
            )
            % {"agency_where": _agency_where(city), "agency_call": _agency_call(city)},
            extra=_agency_extra(city),
        )
    expected = _next_upload(city, today)
    latest = city.latest_upload_as_of
    if latest is None:
        detail = _("%(city_name)s has not uploaded account data to the national platform yet.") % {
            "city_name": city.shown_name
        }
    else:
        detail = _("Your account is not in %(city_name)s's latest upload (as of %(latest)s).") % {
            "city_name": city.shown_name,
            "latest": clock.as_text(latest),
        }
    return Reason(
        ReasonCode.DATA_NOT_UPLOADED,
        detail=detail,
        remedy=_("Wait for the city's next upload, due on %(expected)s.")
        % {"expected": format(expected, "%Y-%m-%d")},
        expected_date=expected,
    )


def _reason_busy(city: CityFacts, retry_after: int) -> Reason:
    return Reason(
        ReasonCode.PLATFORM_BUSY,
        detail=_("Too many people are querying %(city_name)s's platform right now.")
        % {"city_name": city.shown_name},
        remedy=_("Query again off-peak; retry in %(retry_after)s seconds at the earliest.")
        % {"retry_after": retry_after}
        + clock.real_wait_note(),
        retry_after=retry_after,
    )


def _awaiting_first_contribution(facts: BalanceFacts) -> bool:
    """An active employee from whom no contribution has arrived: nothing can be credited yet."""
    return facts.is_employee and not facts.is_retired and not facts.has_contribution


def _expected_first_crediting(facts: BalanceFacts, today: date) -> date:
    city = facts.city
    start = max(today, facts.enrolled_on)
    if _awaiting_first_contribution(facts):
        # The first contribution must be collected before anything can be credited.
        return next_crediting_on(city, on_or_after=next_contribution_on(city, on_or_after=start))
    return next_crediting_on(city, on_or_after=start)


def _reason_funds(facts: BalanceFacts, today: date, *, credited_since_snapshot: bool) -> Reason:
    if credited_since_snapshot:
        expected = _next_upload(facts.city, today)
        return Reason(
            ReasonCode.FUNDS_NOT_YET_TRANSFERRED,
            detail=_(
                "At the city's last upload your account had not received its first crediting; it has been credited since, and shows online after the next upload."
            ),
            remedy=(
                _("Wait for the next upload, due on %(expected)s.")
                % {"expected": format(expected, "%Y-%m-%d")}
                if expected
                else _("Wait for the next upload.")
            ),
            expected_date=expected,
        )
    if not facts.is_employee and not facts.has_contribution:
        # Crediting only credits residents whose year is paid: no date can be promised before.
        return Reason(
            ReasonCode.FUNDS_NOT_YET_TRANSFERRED,
            detail=_(
                "Your personal account is at 0.00 because this year's resident contribution has not been received; the first crediting follows it."
            ),
            remedy=_(
                "Pay this year's resident contribution; the first crediting follows on the next crediting day."
            ),
        )
    expected = _expected_first_crediting(facts, today)
    if _awaiting_first_contribution(facts):
        detail = _(
            "Your personal account is at 0.00 because no contribution has been received yet; the first crediting follows the first contribution."
        )
    else:
        detail = _(
            "Your personal account is at 0.00 because the agency has not yet posted its first crediting."
        )
    return Reason(
        ReasonCode.FUNDS_NOT_YET_TRANSFERRED,
        detail=detail,
        remedy=_("Wait; the first crediting is expected on %(expected)s.")
        % {"expected": format(expected, "%Y-%m-%d")},
        expected_date=expected,
    )
