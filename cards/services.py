"""Writes about social security cards and e-vouchers: every transition goes through the state
machine, is made under a row lock, and lands in the record's history (who, when, which request)."""

import hashlib
import re
import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import TransitionNotAllowed

from cards.credentials import PresentedCredential
from cards.error_codes import CardErrorCode
from cards.models import (
    EVoucher,
    EVoucherAgreement,
    EVoucherPresentationCode,
    FaceAuthAttempt,
    SocialSecurityCard,
)
from cards.selectors import presentation_code_digest
from cities.selectors import agency_call, agency_contact, agency_where
from common import clock
from common.audit import acting_user
from common.calendar import add_working_days
from common.context import current_request_id
from common.errors import CommonErrorCode, DomainError, field_error
from events.balance import PersonBalanceWatch
from events.models import EventType
from events.services import event_record
from institutions.models import Institution
from persons.models import InsuredPerson
from persons.resident_id import InvalidResidentId, normalize_resident_id, parse_resident_id

# A street service point has a card ready within this many working days.
STREET_POINT_WORKING_DAYS = 3
_CARD_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def _save_with_history(instance, by, **kwargs) -> None:
    instance._history_user = acting_user(by)
    instance.save(**kwargs)


# What each state-machine transition is called when it is refused (never the method's name).
_TRANSITION_WORDING = {
    "mark_ready": "it cannot be marked ready",
    "issue": "it cannot be handed over",
    "activate": "it cannot be activated",
    "report_lost": "it cannot be reported lost",
    "accept_agreement": "the user agreement cannot be accepted for it",
}


def _transition(instance, method: str, error_code, by, **kwargs) -> None:
    recorded = _TransitionRecorded(instance, method, now=kwargs.get("at"))
    try:
        getattr(instance, method)(**kwargs)
    except TransitionNotAllowed:
        raise DomainError(
            error_code,
            _("The %(verbose_name)s is %(lower)s; %(TRANSITION_WORDING)s now.")
            % {
                "verbose_name": instance._meta.verbose_name,
                "lower": instance.get_status_display().lower(),
                "TRANSITION_WORDING": _TRANSITION_WORDING[method],
            },
            extra={"current_status": instance.status},
        ) from None
    _save_with_history(instance, by)
    recorded.done()


class _TransitionRecorded:
    """The events of a card's or e-voucher's transition: card.status_changed or
    evoucher.activated, and person.balance.changed when the holder's balance answer changes."""

    def __init__(self, instance, method: str, *, now: datetime | None) -> None:
        self.instance, self.before = instance, instance.status
        self.now = now or clock.now()
        self.kind = "card" if isinstance(instance, SocialSecurityCard) else "evoucher"
        self.balance = PersonBalanceWatch(
            person_id=instance.person_id, now=self.now, cause=f"{self.kind}.{method}"
        )

    def done(self) -> None:
        instance = self.instance
        self.balance.finish()
        if self.kind == "card":
            event_type, data = EventType.CARD_STATUS_CHANGED, {"number": instance.number}
        elif instance.status == EVoucher.Status.ACTIVATED:
            event_type, data = EventType.EVOUCHER_ACTIVATED, {"platform": instance.platform}
        else:
            return
        event_record(
            type=event_type,
            now=self.now,
            object_type=self.kind,
            object_id=instance.pk,
            data=data | {"before": {"status": self.before}, "after": {"status": instance.status}},
            city_id=_person_city_id(instance.person_id),
            person_id=instance.person_id,
        )


def _person_city_id(person_id: int) -> int | None:
    return InsuredPerson.objects.filter(pk=person_id).values_list("city_id", flat=True).first()


# --- Cards ---------------------------------------------------------------------------------


def _unused_card_number() -> str:
    while True:
        number = secrets.choice(_CARD_LETTERS) + f"{secrets.randbelow(10**8):08d}"
        if not SocialSecurityCard.objects.filter(number=number).exists():
            return number


def _check_presented_ids(
    *,
    person: InsuredPerson,
    insured_resident_id: str,
    agent_name: str,
    agent_resident_id: str,
    today: date,
):
    if normalize_resident_id(insured_resident_id) != person.resident_id:
        raise DomainError(
            CardErrorCode.INSURED_ID_MISMATCH,
            errors=[field_error("insured_resident_id", _("Does not match the insured person."))],
        )
    if agent_name or agent_resident_id:
        try:
            agent = parse_resident_id(agent_resident_id, today=today)
        except InvalidResidentId as exc:
            raise DomainError(
                CardErrorCode.AGENT_ID_REQUIRED, errors=[field_error("agent_resident_id", str(exc))]
            ) from None
        if not agent_name.strip():
            raise DomainError(
                CardErrorCode.AGENT_ID_REQUIRED, errors=[field_error("agent_name", _("Required."))]
            )
        if agent.number == person.resident_id:
            raise DomainError(
                CardErrorCode.AGENT_ID_REQUIRED,
                _("The agent must be someone other than the insured person."),
                errors=[field_error("agent_resident_id", _("Must be the agent's own ID."))],
            )
        return agent_name.strip(), agent.number
    return "", ""


def street_point_ready_working_day(number: str) -> int:
    """Which working day after the application (1, 2 or 3) a street point has this card ready.
    The point makes a card within three working days; which of them follows from the card's
    number (its SHA-256 digest, modulo three), so the day is fixed when the card is applied for,
    the same on every retry, and spread evenly over the three days across cards."""
    digest = hashlib.sha256(number.encode()).digest()
    return 1 + int.from_bytes(digest[:8], "big") % STREET_POINT_WORKING_DAYS


def _checked_ready_working_day(ready_working_day: int | None) -> None:
    if ready_working_day is not None and not 1 <= ready_working_day <= STREET_POINT_WORKING_DAYS:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            _("A street point has a card ready on working day 1 to %(STREET_POINT_WORKING_DAYS)s.")
            % {"STREET_POINT_WORKING_DAYS": STREET_POINT_WORKING_DAYS},
            errors=[field_error("ready_working_day", _("1, 2 or 3."))],
        )


def card_apply(
    *,
    person: InsuredPerson,
    site: str,
    insured_resident_id: str,
    agent_name: str = "",
    agent_resident_id: str = "",
    by,
    number: str | None = None,
    replaces: SocialSecurityCard | None = None,
    now: datetime | None = None,
    ready_working_day: int | None = None,
) -> SocialSecurityCard:
    """Apply for a card. At the county centre it is made, issued and handed over on the spot (each
    state still recorded); at a street service point it is ready within 3 working days: on the
    ``ready_working_day``-th working day after (the sandbox chooses it), else on the day the
    card's number gives (``street_point_ready_working_day``). ``now`` is the caller's
    clock.now() (read here when not given)."""
    _checked_ready_working_day(ready_working_day)
    now = clock.now() if now is None else now
    today = clock.localdate(now)
    agent_name, agent_resident_id = _check_presented_ids(
        person=person,
        insured_resident_id=insured_resident_id,
        agent_name=agent_name,
        agent_resident_id=agent_resident_id,
        today=today,
    )
    with transaction.atomic():
        InsuredPerson.objects.select_for_update(no_key=True).filter(pk=person.pk).first()
        if (
            SocialSecurityCard.objects.filter(person=person)
            .exclude(status=SocialSecurityCard.Status.LOST)
            .exists()
        ):
            raise DomainError(CardErrorCode.CARD_ALREADY_HELD)
        on_the_spot = site == SocialSecurityCard.Site.COUNTY_CENTER
        number = number or _unused_card_number()
        working_days = ready_working_day or street_point_ready_working_day(number)
        card = SocialSecurityCard(
            person=person,
            number=number,
            site=site,
            applied_at=now,
            ready_on=today if on_the_spot else add_working_days(today, working_days),
            agent_name=agent_name,
            agent_resident_id=agent_resident_id,
            replaces=replaces,
            created_by=by,
        )
        _save_with_history(card, by)
        if on_the_spot:
            _transition(card, "mark_ready", CardErrorCode.CARD_TRANSITION_NOT_ALLOWED, by)
            _transition(card, "issue", CardErrorCode.CARD_TRANSITION_NOT_ALLOWED, by, at=now)
        return card


def _locked_card(card: SocialSecurityCard) -> SocialSecurityCard:
    locked = SocialSecurityCard.objects.select_for_update(no_key=True).filter(pk=card.pk).first()
    if locked is None:  # an id from a stale page or a crafted request
        raise DomainError(CommonErrorCode.NOT_FOUND, _("There is no such card."))
    return locked


def card_mark_ready(*, card: SocialSecurityCard, by=None) -> SocialSecurityCard:
    with transaction.atomic():
        card = _locked_card(card)
        _transition(card, "mark_ready", CardErrorCode.CARD_TRANSITION_NOT_ALLOWED, by)
        return card


def cards_mark_ready_due(*, today, cities=None) -> int:
    """Street-point cards whose ready day has come (run by the daily job and the sandbox clock),
    of persons in ``cities`` (a queryset; all cities when None)."""
    ready = 0
    due = SocialSecurityCard.objects.filter(
        status=SocialSecurityCard.Status.PENDING, ready_on__lte=today
    )
    if cities is not None:
        due = due.filter(person__city__in=cities)
    for card_id in due.values_list("id", flat=True).iterator():
        with transaction.atomic():
            card = SocialSecurityCard.objects.select_for_update(no_key=True).get(pk=card_id)
            if card.status == SocialSecurityCard.Status.PENDING:
                _transition(card, "mark_ready", CardErrorCode.CARD_TRANSITION_NOT_ALLOWED, None)
                ready += 1
    return ready


# What the holder asking to activate their own card is told, by the card's state.
_HOLDER_ACTIVATION_DETAIL = {
    SocialSecurityCard.Status.PENDING: gettext_lazy(
        "Your card is still being made. Once it is ready, collect it and have it activated at the "
        "counter of %(where)s: bring your ID, and choose a 6-digit PIN there."
    ),
    SocialSecurityCard.Status.READY: gettext_lazy(
        "Your card is ready. Collect it and have it activated at the counter of %(where)s: bring "
        "your ID, and choose a 6-digit PIN there."
    ),
    SocialSecurityCard.Status.ISSUED: gettext_lazy(
        "A card is not activated online: have it activated at the counter of %(where)s. Bring the "
        "card and your ID, and choose a 6-digit PIN there."
    ),
    SocialSecurityCard.Status.ACTIVE: gettext_lazy(
        "Your card is already active. To change its PIN, go to the counter of %(where)s with the "
        "card and your ID."
    ),
    SocialSecurityCard.Status.LOST: gettext_lazy(
        "This card was reported lost. Apply for a replacement at the counter of %(where)s with "
        "your ID; the new card is activated there with a PIN you choose."
    ),
}


def card_activation_by_holder_refuse(*, card: SocialSecurityCard) -> None:
    """A cardholder asking to activate their own card is told where it happens: at the agency's
    counter, in person with their ID, setting a PIN there (a PIN is never set online). The
    remedy names the city's agency and its phone, or the national hotline."""
    city = card.person.city
    where = agency_where(name=city.shown_agency_name, address=city.agency_address)
    call = agency_call(name=city.shown_agency_name, phone=city.agency_phone)
    raise DomainError(
        CardErrorCode.CARD_ACTIVATED_AT_COUNTER,
        _HOLDER_ACTIVATION_DETAIL[card.status] % {"where": where},
        extra={
            "current_status": card.status,
            "remedy": _(
                "Go to the counter of %(where)s with your card and your ID, and set a PIN there; "
                "to ask first, %(call)s."
            )
            % {"where": where, "call": call},
            "contact": agency_contact(
                name=city.shown_agency_name, address=city.agency_address, phone=city.agency_phone
            ),
        },
    )


def card_collect(*, card: SocialSecurityCard, by) -> SocialSecurityCard:
    with transaction.atomic():
        card = _locked_card(card)
        _transition(card, "issue", CardErrorCode.CARD_TRANSITION_NOT_ALLOWED, by, at=clock.now())
        return card


_PIN = re.compile(r"[0-9]{6}")


def _check_pin(pin: str) -> None:
    if not isinstance(pin, str) or not _PIN.fullmatch(pin):
        raise DomainError(
            CardErrorCode.CARD_PIN_INVALID,
            errors=[field_error("pin", _("6 digits, not 111111 or 123456."))],
        )
    weak = len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210"
    if weak:
        raise DomainError(
            CardErrorCode.CARD_PIN_INVALID,
            errors=[field_error("pin", _("6 digits, not 111111 or 123456."))],
        )


def card_activate(*, card: SocialSecurityCard, pin: str, by) -> SocialSecurityCard:
    """Activate at the counter: the person sets a PIN, stored hashed."""
    _check_pin(pin)
    with transaction.atomic():
        card = _locked_card(card)
        _transition(
            card,
            "activate",
            CardErrorCode.CARD_TRANSITION_NOT_ALLOWED,
            by,
            at=clock.now(),
            pin_hash=make_password(pin),
        )
        return card


CARD_PIN_HEADER = "X-Card-PIN"


def _end_of_local_day(now: datetime) -> datetime:
    local = clock.localtime(now)
    return datetime.combine(local.date() + timedelta(days=1), time.min, tzinfo=local.tzinfo)


def _pin_locked(card: SocialSecurityCard, now: datetime) -> DomainError:
    until = card.pin_locked_until
    return DomainError(
        CardErrorCode.CARD_PIN_LOCKED,
        _(
            "Too many wrong PINs in a row: the card pays from no account until %(until)s. The cardholder can still pay in cash, or with the e-voucher from their own app."
        )
        % {"until": clock.as_text(until)}
        + clock.simulated_wait_note(),
        headers={"Retry-After": str(int((until - now).total_seconds()) + 1)},
        extra={"locked_until": clock.as_iso(until)},
    )


def _active_card_presented(*, credential: PresentedCredential) -> SocialSecurityCard | None:
    return (
        SocialSecurityCard.objects.filter(
            number=credential.value,
            person_id=credential.person_id,
            status=SocialSecurityCard.Status.ACTIVE,
        )
        .only("id", "pin_hash", "pin_locked_until")
        .first()
    )


def _pin_required() -> DomainError:
    return DomainError(
        CardErrorCode.CARD_PIN_REQUIRED,
        _(
            "Ask the cardholder to enter the card's PIN and send it in %(CARD_PIN_HEADER)s, or settle without the personal account (use_personal_account false)."
        )
        % {"CARD_PIN_HEADER": CARD_PIN_HEADER},
        errors=[field_error(CARD_PIN_HEADER, _("Required with a card and the personal account."))],
    )


def _pin_incorrect(card: SocialSecurityCard) -> DomainError:
    attempts_left = settings.CARD_PIN_MAX_FAILURES - card.pin_failures
    return DomainError(
        CardErrorCode.CARD_PIN_INCORRECT,
        _(
            "The PIN is not the card's. %(attempts_left)s more wrong PIN(s) in a row lock the card's PIN until the end of the day."
        )
        % {"attempts_left": attempts_left},
        extra={"attempts_left": attempts_left},
    )


def _pin_answer_count(
    *, card_id: int, right: bool, now: datetime
) -> tuple[SocialSecurityCard, bool]:
    """Count one answer under the card's row lock: a right one clears the count, a wrong one adds
    to it and locks the PIN at CARD_PIN_MAX_FAILURES. Says whether the PIN is locked (so the
    answer was not counted, or locked it)."""
    with transaction.atomic():
        card = SocialSecurityCard.objects.select_for_update(no_key=True).get(pk=card_id)
        if card.pin_locked_until is not None and card.pin_locked_until > now:
            return card, True
        if right:
            if card.pin_failures:
                SocialSecurityCard.objects.filter(pk=card.pk).update(pin_failures=0)
            return card, False
        card.pin_failures += 1
        locked = card.pin_failures >= settings.CARD_PIN_MAX_FAILURES
        if locked:
            card.pin_locked_until = _end_of_local_day(now)
            card.pin_failures = 0
        SocialSecurityCard.objects.filter(pk=card.pk).update(
            pin_failures=card.pin_failures, pin_locked_until=card.pin_locked_until
        )
        return card, locked


def card_pin_verify(
    *, credential: PresentedCredential, pin: str | None, now: datetime
) -> PresentedCredential:
    """The cardholder's PIN, entered at the terminal, for paying from a personal account with the
    card presented; answers the credential marked ``pin_verified``. Wrong PINs in a row are
    counted on the card; CARD_PIN_MAX_FAILURES of them lock its PIN until the end of the local day
    (on the domain clock), and a right PIN clears the count. Each answer is decided under the
    card's row lock, so parallel guesses count one by one and none is answered while locked.

    Call it outside the transaction of the payment it guards: a wrong PIN refuses the payment,
    and the count must not be rolled back with it. A card not active (no PIN yet, or lost) is
    answered unchanged, for the payment to refuse as it does any such card."""
    if credential.kind != "CARD":
        return credential
    card = _active_card_presented(credential=credential)
    if card is None:
        return credential
    if card.pin_locked_until and card.pin_locked_until > now:
        raise _pin_locked(card, now)
    if not pin:
        raise _pin_required()
    # Hashed outside the lock (a password hash takes a while); decided under it.
    right = _PIN.fullmatch(pin) is not None and check_password(pin, card.pin_hash)
    card, locked = _pin_answer_count(card_id=card.pk, right=right, now=now)
    # Raised once the count is committed.
    if locked:
        raise _pin_locked(card, now)
    if not right:
        raise _pin_incorrect(card)
    return replace(credential, pin_verified=True)


def card_report_lost(*, card: SocialSecurityCard, by) -> SocialSecurityCard:
    with transaction.atomic():
        card = _locked_card(card)
        _transition(
            card, "report_lost", CardErrorCode.CARD_TRANSITION_NOT_ALLOWED, by, at=clock.now()
        )
        return card


def card_replace(
    *,
    card: SocialSecurityCard,
    site: str,
    insured_resident_id: str,
    agent_name: str = "",
    agent_resident_id: str = "",
    by,
    now: datetime | None = None,
) -> SocialSecurityCard:
    """A new card for a lost one (report it lost first)."""
    if card.status != SocialSecurityCard.Status.LOST:
        raise DomainError(
            CardErrorCode.CARD_TRANSITION_NOT_ALLOWED,
            _("Report the card lost before replacing it."),
        )
    if hasattr(card, "replaced_by"):
        return card.replaced_by
    return card_apply(
        person=card.person,
        site=site,
        insured_resident_id=insured_resident_id,
        agent_name=agent_name,
        agent_resident_id=agent_resident_id,
        by=by,
        replaces=card,
        now=now,
    )


# --- E-vouchers ----------------------------------------------------------------------------


def evoucher_agreement_current(*, today: date | None = None) -> EVoucherAgreement | None:
    """The agreement in force on ``today`` (the domain clock's day when not given)."""
    return (
        EVoucherAgreement.objects.filter(
            effective_from__lte=clock.today() if today is None else today
        )
        .order_by("-effective_from", "-id")
        .first()
    )


def _locked_voucher(person: InsuredPerson) -> EVoucher:
    return EVoucher.objects.select_for_update(no_key=True).get(person=person)


def evoucher_accept_agreement(
    *, person: InsuredPerson, platform: str, agreement_version: str, by
) -> EVoucher:
    current = evoucher_agreement_current()
    if current is None or agreement_version != current.version:
        raise DomainError(
            CardErrorCode.AGREEMENT_VERSION_NOT_CURRENT,
            errors=[field_error("agreement_version", _("Not the current version."))],
            extra={"current_version": current.version if current else None},
        )
    if platform == EVoucher.Platform.PHARMACY:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            _("Online activation is through WeChat, Alipay or the national app."),
            errors=[field_error("platform", _("Choose WECHAT, ALIPAY or NHSA_APP."))],
        )
    with transaction.atomic():
        voucher = _locked_voucher(person)
        if (
            voucher.status == EVoucher.Status.AGREEMENT_ACCEPTED
            and voucher.agreement_id == current.id
            and voucher.platform == platform
        ):
            return voucher  # already accepted: a retry changes nothing
        _transition(
            voucher,
            "accept_agreement",
            CardErrorCode.EVOUCHER_TRANSITION_NOT_ALLOWED,
            by,
            agreement=current,
            platform=platform,
            at=clock.now(),
        )
        return voucher


@dataclass(frozen=True)
class FaceAuthResult:
    attempt: FaceAuthAttempt
    evoucher: EVoucher
    attempts_left: int
    retry_after: int | None


def _check_sandbox_outcome(*, outcome: str | None, field: str) -> None:
    if outcome is not None and not settings.SANDBOX_MODE:
        raise DomainError(
            CardErrorCode.SANDBOX_OUTCOME_NOT_ALLOWED,
            errors=[field_error(field, _("Sandbox only."))],
        )


def _check_face_auth_unlocked(*, voucher: EVoucher, now: datetime) -> None:
    if voucher.locked_until and voucher.locked_until > now:
        wait = int((voucher.locked_until - now).total_seconds()) + 1
        raise DomainError(
            CardErrorCode.FACE_AUTH_LOCKED,
            _("Face authentication is locked until %(locked_until)s.")
            % {"locked_until": clock.as_text(voucher.locked_until)}
            + clock.simulated_wait_note(),
            headers={"Retry-After": str(wait)},
            extra={"locked_until": clock.as_iso(voucher.locked_until)},
        )


def _check_agreement_accepted(*, voucher: EVoucher) -> None:
    if voucher.status != EVoucher.Status.AGREEMENT_ACCEPTED:
        raise DomainError(
            CardErrorCode.EVOUCHER_TRANSITION_NOT_ALLOWED,
            _("Accept the user agreement first.")
            if voucher.status == EVoucher.Status.NOT_ACTIVATED
            else _("The e-voucher is already activated."),
            extra={"current_status": voucher.status},
        )


def _face_auth_attempt_record(
    *, voucher: EVoucher, platform: str, outcome: str, now: datetime
) -> FaceAuthAttempt:
    return FaceAuthAttempt.objects.create(
        evoucher=voucher,
        platform=platform,
        outcome=outcome,
        attempted_at=now,
        request_id=current_request_id(),
    )


def _face_auth_outcome_apply(*, voucher: EVoucher, outcome: str, by, now: datetime) -> int | None:
    """A pass activates the e-voucher; a provider outage counts nothing; a failure counts, and
    EVOUCHER_FACE_AUTH_MAX_FAILURES in a row lock attempts. Answers the seconds to wait, if any."""
    if outcome == FaceAuthAttempt.Outcome.PASS:
        _transition(voucher, "activate", CardErrorCode.EVOUCHER_TRANSITION_NOT_ALLOWED, by, at=now)
        return None
    if outcome == FaceAuthAttempt.Outcome.PROVIDER_UNAVAILABLE:
        return 30
    retry_after = None
    voucher.consecutive_failures += 1
    if voucher.consecutive_failures >= settings.EVOUCHER_FACE_AUTH_MAX_FAILURES:
        voucher.locked_until = now + settings.EVOUCHER_FACE_AUTH_LOCK_MINUTES * timedelta(minutes=1)
        voucher.consecutive_failures = 0
        retry_after = settings.EVOUCHER_FACE_AUTH_LOCK_MINUTES * 60
    _save_with_history(voucher, by)
    if retry_after:
        event_record(
            type=EventType.EVOUCHER_LOCKED,
            now=now,
            object_type="evoucher",
            object_id=voucher.pk,
            data={"status": voucher.status, "locked_until": clock.as_iso(voucher.locked_until)},
            city_id=_person_city_id(voucher.person_id),
            person_id=voucher.person_id,
        )
    return retry_after


def evoucher_face_authenticate(
    *, person: InsuredPerson, outcome: str | None, by, now: datetime | None = None
) -> FaceAuthResult:
    """One face authentication through the (simulated) provider. In sandbox mode the client picks
    the outcome; otherwise the provider passes. Repeated failures lock attempts for a while;
    a provider outage is not the person's failure. ``now`` is the caller's clock.now() (read
    here when not given)."""
    _check_sandbox_outcome(outcome=outcome, field="sandbox_outcome")
    outcome = outcome or FaceAuthAttempt.Outcome.PASS
    now = clock.now() if now is None else now
    with transaction.atomic():
        voucher = _locked_voucher(person)
        _check_face_auth_unlocked(voucher=voucher, now=now)
        _check_agreement_accepted(voucher=voucher)
        attempt = _face_auth_attempt_record(
            voucher=voucher, platform=voucher.platform, outcome=outcome, now=now
        )
        retry_after = _face_auth_outcome_apply(voucher=voucher, outcome=outcome, by=by, now=now)
        attempts_left = (
            0
            if voucher.locked_until and voucher.locked_until > now
            else settings.EVOUCHER_FACE_AUTH_MAX_FAILURES - voucher.consecutive_failures
        )
        return FaceAuthResult(
            attempt=attempt, evoucher=voucher, attempts_left=attempts_left, retry_after=retry_after
        )


def _check_designated_pharmacy(*, institution: Institution | None) -> None:
    if (
        institution is None
        or institution.kind != Institution.Kind.PHARMACY
        or not institution.is_designated
    ):
        raise DomainError(CardErrorCode.INSTITUTION_NOT_PHARMACY)


def _agreement_in_force(*, today: date) -> EVoucherAgreement:
    current = evoucher_agreement_current(today=today)
    if current is None:
        raise DomainError(
            CardErrorCode.AGREEMENT_VERSION_NOT_CURRENT, _("No user agreement is in force.")
        )
    return current


def _person_identified(*, resident_id: str, name: str, outcome: str) -> InsuredPerson:
    """The insured person the ID card names, if the face check passed. One answer for an unknown
    ID, another name and a failed face check: no probing for who is insured."""
    if outcome == FaceAuthAttempt.Outcome.PROVIDER_UNAVAILABLE:
        raise DomainError(CardErrorCode.FACE_AUTH_UNAVAILABLE, headers={"Retry-After": "30"})
    person = InsuredPerson.objects.filter(
        resident_id=normalize_resident_id(resident_id), name=name.strip()
    ).first()
    if person is None or outcome != FaceAuthAttempt.Outcome.PASS:
        raise DomainError(CardErrorCode.IDENTITY_NOT_VERIFIED)
    return person


def evoucher_activate_at_pharmacy(
    *,
    resident_id: str,
    name: str,
    face_outcome: str | None,
    institution,
    by,
    now: datetime | None = None,
) -> EVoucher:
    """Offline activation at a designated pharmacy, with the person there: the pharmacy reads their
    ID card (number and name) and runs the face check against the ID photo; the person accepts the
    agreement there. The pharmacy learns only that the activation happened: never a code, and a
    refusal reads the same whether or not the ID belongs to an insured person. ``now`` is the
    caller's clock.now() (read here when not given)."""
    _check_designated_pharmacy(institution=institution)
    _check_sandbox_outcome(outcome=face_outcome, field="sandbox_face_outcome")
    now = clock.now() if now is None else now
    current = _agreement_in_force(today=clock.localdate(now))
    outcome = face_outcome or FaceAuthAttempt.Outcome.PASS
    person = _person_identified(resident_id=resident_id, name=name, outcome=outcome)
    with transaction.atomic():
        voucher = _locked_voucher(person)
        if voucher.status == EVoucher.Status.ACTIVATED:
            return voucher  # a retry, or already active: nothing to do
        _transition(
            voucher,
            "accept_agreement",
            CardErrorCode.EVOUCHER_TRANSITION_NOT_ALLOWED,
            by,
            agreement=current,
            platform=EVoucher.Platform.PHARMACY,
            at=now,
        )
        _face_auth_attempt_record(
            voucher=voucher, platform=EVoucher.Platform.PHARMACY, outcome=outcome, now=now
        )
        _transition(
            voucher,
            "activate",
            CardErrorCode.EVOUCHER_TRANSITION_NOT_ALLOWED,
            by,
            at=now,
            institution=institution,
        )
        return voucher


@dataclass(frozen=True)
class IssuedPresentationCode:
    code: str
    issued_at: datetime
    expires_at: datetime


def evoucher_presentation_code_issue(*, person: InsuredPerson) -> IssuedPresentationCode:
    """A fresh presentation code for the person's own app to show (the e-voucher's dynamic QR
    code). It is valid for EVOUCHER_PRESENTATION_CODE_MINUTES on the domain clock, and issuing it
    retires the previous one. The code itself is returned once and kept only as a digest."""
    now = clock.now()
    with transaction.atomic():
        voucher = _locked_voucher(person)
        if voucher.status != EVoucher.Status.ACTIVATED:
            raise DomainError(
                CardErrorCode.EVOUCHER_TRANSITION_NOT_ALLOWED,
                _("Activate the e-voucher before showing its code."),
                extra={"current_status": voucher.status},
            )
        EVoucherPresentationCode.objects.filter(evoucher=voucher, retired_at__isnull=True).update(
            retired_at=now
        )
        code = secrets.token_hex(16).upper()
        issued = EVoucherPresentationCode.objects.create(
            evoucher=voucher,
            digest=presentation_code_digest(code),
            issued_at=now,
            expires_at=now + timedelta(minutes=settings.EVOUCHER_PRESENTATION_CODE_MINUTES),
            request_id=current_request_id(),
        )
    return IssuedPresentationCode(
        code=code, issued_at=issued.issued_at, expires_at=issued.expires_at
    )
