"""Reads of accounts: the balance diagnosis, ledger history and payment records."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet, Subquery

from accounts.models import Account, Contribution, Crediting, CreditingRun, Entry
from accounts.reasons import Reason, ReasonCode, in_catalogue_order
from cards.models import EVoucher, SocialSecurityCard
from cities.limiter import platform_admit, platform_peek
from cities.selectors import next_contribution_on, next_crediting_on, next_upload_on
from common import clock
from common.models import JobStatus
from common.money import CURRENCY, ZERO
from persons.models import InsuredPerson
from users.access import Channel

COUNTER_CHANNELS_TEXT = (
    "designated hospitals and pharmacies, and the medical-insurance agency counter"
)


@dataclass(frozen=True)
class BalanceDiagnosis:
    person_id: int
    channel: str
    visible: bool
    amount: Decimal | None
    as_of: datetime | None
    source: str | None
    reasons: list[Reason]

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
        }


def person_for_balance(*, persons: QuerySet | None = None, **lookup) -> InsuredPerson:
    """Everything the diagnosis needs, in one SQL query whatever the person's history.
    ``persons`` is the caller's visible set (so visibility costs no extra query)."""
    from settlement.models import AnnualUsage

    latest_card = SocialSecurityCard.objects.filter(person=OuterRef("pk")).order_by("-id")
    year = clock.today().year
    persons = InsuredPerson.objects.all() if persons is None else persons
    return (
        persons.select_related(
            "city", "city__latest_upload", "evoucher", "personal_account", "snapshot"
        )
        .annotate(
            card_status=Subquery(latest_card.values("status")[:1]),
            card_ready_on=Subquery(latest_card.values("ready_on")[:1]),
            has_crediting=Exists(Crediting.objects.filter(account__person=OuterRef("pk"))),
            has_contribution=Exists(Contribution.objects.filter(person=OuterRef("pk"))),
            outpatient_pool_paid=Subquery(
                AnnualUsage.objects.filter(person=OuterRef("pk"), year=year).values(
                    "outpatient_pool_paid"
                )[:1]
            ),
        )
        .get(**lookup)
    )


def _expected_first_crediting(person: InsuredPerson, today: date) -> date:
    city = person.city
    start = max(today, person.enrolled_on)
    if person.is_employee and not person.is_retired and not person.has_contribution:
        # The first contribution must be collected before anything can be credited.
        return next_crediting_on(city, on_or_after=next_contribution_on(city, on_or_after=start))
    return next_crediting_on(city, on_or_after=start)


def _reason_city_inquiry(person: InsuredPerson) -> Reason:
    return Reason(
        ReasonCode.CITY_INQUIRY_NOT_LAUNCHED,
        detail=f"{person.city.name} has not launched online e-insurance inquiry, so the e-voucher "
        "platforms cannot show your balance.",
        remedy="Bring your social security card to the medical-insurance agency counter, or call "
        f"the hotline ({settings.NHSA_HOTLINE}) to check it.",
        extra={"hotline": settings.NHSA_HOTLINE},
    )


def _reason_evoucher(person: InsuredPerson, now: datetime) -> Reason:
    voucher: EVoucher | None = getattr(person, "evoucher", None)
    if voucher is not None and voucher.locked_until and voucher.locked_until > now:
        detail = (
            "Activation is paused after repeated failed face authentications, until "
            f"{voucher.locked_until:%Y-%m-%d %H:%M}."
        )
    elif voucher is not None and voucher.status == EVoucher.Status.AGREEMENT_ACCEPTED:
        detail = "You accepted the user agreement, but face authentication has not been passed."
    else:
        detail = "Your electronic medical-insurance voucher has not been activated, so it cannot be used or show your balance."
    return Reason(
        ReasonCode.EVOUCHER_NOT_ACTIVATED,
        detail=detail,
        remedy="Activate it in WeChat, Alipay or the national medical-insurance app (accept the user "
        "agreement, then pass face authentication), or at a designated pharmacy with your ID.",
    )


def _reason_wrong_channel(person: InsuredPerson) -> Reason:
    return Reason(
        ReasonCode.WRONG_CHANNEL,
        detail=f"In {person.city.name} the personal account is not shown online; only {COUNTER_CHANNELS_TEXT} can show it.",
        remedy=f"Ask at a designated hospital or pharmacy, or at the agency counter ({settings.NHSA_HOTLINE} tells you where).",
        extra={"channels": [Channel.INSTITUTION.value, Channel.COUNTER.value]},
    )


def _reason_abolished(person: InsuredPerson) -> Reason:
    city = person.city
    used = person.outpatient_pool_paid or ZERO
    remaining = max(ZERO, city.outpatient_pooling_annual_quota - used)
    ratio = int(city.outpatient_pooling_ratio * 100)
    return Reason(
        ReasonCode.PERSONAL_ACCOUNT_ABOLISHED,
        detail=f"Since {city.resident_accounts_abolished_on:%Y-%m-%d}, {city.name} has replaced resident "
        f"personal accounts with outpatient pooling: it pays {ratio}% of eligible common outpatient "
        f"costs, up to {city.outpatient_pooling_annual_quota:.2f} CNY a year; "
        f"{remaining:.2f} CNY remains this year.",
        remedy="Nothing to do: settle at designated institutions as usual and outpatient pooling pays its share.",
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


def _reason_card(person: InsuredPerson) -> Reason:
    status = person.card_status
    expected = None
    remedy = "Activate it at the local medical-insurance agency: bring the card and your ID, and set a PIN."
    if status is None:
        detail = "You have no social security card yet."
        remedy = (
            "Apply at the county medical-insurance centre (issued on the spot) or a street service point "
            "(ready within 3 working days), then activate it at the agency."
        )
    elif status == SocialSecurityCard.Status.PENDING:
        detail = f"Your card is being made; it will be ready on {person.card_ready_on:%Y-%m-%d}."
        expected = person.card_ready_on
        remedy = "Collect it when it is ready, then activate it at the agency (bring your ID, set a PIN)."
    elif status == SocialSecurityCard.Status.READY:
        detail = "Your card is ready for pick-up but has not been collected and activated."
        remedy = "Collect it at the service point and activate it at the agency (bring your ID, set a PIN)."
    elif status == SocialSecurityCard.Status.LOST:
        detail = "Your card was reported lost and no replacement has been issued."
        remedy = "Apply for a replacement at the agency, then activate the new card."
    else:
        detail = "Your physical social security card has been issued but not activated."
    return Reason(
        ReasonCode.CARD_NOT_ACTIVATED, detail=detail, remedy=remedy, expected_date=expected
    )


def _reason_not_uploaded(person: InsuredPerson, today: date) -> Reason:
    city = person.city
    latest = city.latest_upload
    if not city.has_public_upload_channel:
        return Reason(
            ReasonCode.DATA_NOT_UPLOADED,
            detail=f"{city.name} has no public channel to the national platform, so no account data reaches it.",
            remedy="Online inquiry will not show it until the city opens one; designated institutions and "
            "agency counters read the live account meanwhile.",
        )
    uploaded_today = latest is not None and clock.localdate(latest.as_of) == today
    expected = next_upload_on(city, today=today, uploaded_today=uploaded_today)
    if latest is None:
        detail = f"{city.name} has not uploaded account data to the national platform yet."
    else:
        detail = f"Your account is not in {city.name}'s latest upload (as of {clock.localtime(latest.as_of):%Y-%m-%d %H:%M})."
    return Reason(
        ReasonCode.DATA_NOT_UPLOADED,
        detail=detail,
        remedy=f"Wait for the city's next upload, due on {expected:%Y-%m-%d}.",
        expected_date=expected,
    )


def _reason_busy(person: InsuredPerson, retry_after: int) -> Reason:
    return Reason(
        ReasonCode.PLATFORM_BUSY,
        detail=f"Too many people are querying {person.city.name}'s platform right now.",
        remedy=f"Query again off-peak; retry in {retry_after} seconds at the earliest.",
        retry_after=retry_after,
    )


def _reason_funds(person: InsuredPerson, today: date, *, credited_since_snapshot: bool) -> Reason:
    if credited_since_snapshot:
        city = person.city
        latest = city.latest_upload
        uploaded_today = latest is not None and clock.localdate(latest.as_of) == today
        expected = next_upload_on(city, today=today, uploaded_today=uploaded_today)
        return Reason(
            ReasonCode.FUNDS_NOT_YET_TRANSFERRED,
            detail="At the city's last upload your account had not received its first crediting; it has "
            "been credited since, and shows online after the next upload.",
            remedy="Wait for the next upload"
            + (f", due on {expected:%Y-%m-%d}." if expected else "."),
            expected_date=expected,
        )
    if not person.is_employee and not person.has_contribution:
        # Crediting only credits residents whose year is paid: no date can be promised before.
        return Reason(
            ReasonCode.FUNDS_NOT_YET_TRANSFERRED,
            detail="Your personal account is at 0.00 because this year's resident contribution has "
            "not been received; the first crediting follows it.",
            remedy="Pay this year's resident contribution; the first crediting follows on the next "
            "crediting day.",
        )
    expected = _expected_first_crediting(person, today)
    if person.is_employee and not person.is_retired and not person.has_contribution:
        detail = (
            "Your personal account is at 0.00 because no contribution has been received yet; the first "
            "crediting follows the first contribution."
        )
    else:
        detail = "Your personal account is at 0.00 because the agency has not yet posted its first crediting."
    return Reason(
        ReasonCode.FUNDS_NOT_YET_TRANSFERRED,
        detail=detail,
        remedy=f"Wait; the first crediting is expected on {expected:%Y-%m-%d}.",
        expected_date=expected,
    )


def balance_diagnose(
    *, person: InsuredPerson, channel: str, count_query: bool = True
) -> BalanceDiagnosis:
    """Evaluate every check in the catalogue's order for one person and channel.

    ``person`` comes from :func:`person_for_balance`. The online channel shows the city's latest
    uploaded snapshot; the others the live ledger. With ``count_query`` false (the admin's view)
    the online check looks at the platform's load without adding to it.
    """
    now = clock.now()
    today = clock.localdate(now)
    city = person.city
    online = channel == Channel.ONLINE
    account: Account | None = getattr(person, "personal_account", None)
    snapshot = getattr(person, "snapshot", None)
    resident_abolished = (
        not person.is_employee
        and city.resident_accounts_abolished_on is not None
        and city.resident_accounts_abolished_on <= today
    )
    reasons: list[Reason] = []

    if online and not city.online_inquiry_launched:
        reasons.append(_reason_city_inquiry(person))
    voucher = getattr(person, "evoucher", None)
    if online and (voucher is None or voucher.status != EVoucher.Status.ACTIVATED):
        reasons.append(_reason_evoucher(person, now))
    if online and not city.personal_account_shown_online:
        reasons.append(_reason_wrong_channel(person))
    if resident_abolished:
        reasons.append(_reason_abolished(person))
    if (
        channel in (Channel.ONLINE, Channel.INSTITUTION)
        and person.card_status != SocialSecurityCard.Status.ACTIVE
    ):
        reasons.append(_reason_card(person))

    # Every upload carries everyone enrolled in the city, so a person is in the latest upload
    # exactly when the platform holds a snapshot row for them.
    snapshot_current = snapshot is not None
    if online and (not city.has_public_upload_channel or not snapshot_current):
        reasons.append(_reason_not_uploaded(person, today))
    if online and city.online_inquiry_launched:
        limiter = platform_admit if count_query else platform_peek
        retry_after = limiter(
            city_id=city.id,
            capacity=city.query_capacity,
            window_seconds=city.query_window_seconds,
            forced_busy=city.platform_busy_forced,
        )
        if retry_after is not None:
            reasons.append(_reason_busy(person, retry_after))

    amount = as_of = source = None
    if account is not None:
        if online and snapshot_current:
            amount, as_of, source = snapshot.balance, snapshot.as_of, "snapshot"
            if amount == 0 and not snapshot.credited and not resident_abolished:
                reasons.append(
                    _reason_funds(person, today, credited_since_snapshot=person.has_crediting)
                )
        else:
            amount, as_of, source = account.balance, now, "live"
            if amount == 0 and not person.has_crediting and not resident_abolished:
                reasons.append(_reason_funds(person, today, credited_since_snapshot=False))

    reasons = in_catalogue_order(reasons)
    visible = (
        account is not None
        and not resident_abolished
        and not any(reason.hides_balance for reason in reasons)
    )
    return BalanceDiagnosis(
        person_id=person.id,
        channel=str(channel),
        visible=visible,
        amount=amount if visible else None,
        as_of=as_of if visible else None,
        source=source if visible else None,
        reasons=reasons,
    )


# --- Ledger history and payment records ----------------------------------------------------


def account_entries(*, account: Account) -> QuerySet[Entry]:
    return Entry.objects.filter(account=account).select_related("transfer").order_by("-id")


def person_contributions(*, person_id: int) -> QuerySet[Contribution]:
    return Contribution.objects.filter(person_id=person_id).order_by("-period")


def crediting_run_latest(*, city_id: int) -> CreditingRun | None:
    return (
        CreditingRun.objects.filter(city_id=city_id, status=JobStatus.SUCCEEDED)
        .order_by("-period")
        .first()
    )
