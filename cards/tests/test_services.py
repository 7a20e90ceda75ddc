"""Social security cards and e-vouchers: every transition through its state machine, recorded."""

from datetime import date, datetime, timedelta

import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.db import IntegrityError, transaction

from accounts.tests.support import at, refused, set_clock
from cards.error_codes import CardErrorCode
from cards.models import (
    EVoucher,
    EVoucherAgreement,
    EVoucherPresentationCode,
    FaceAuthAttempt,
    SocialSecurityCard,
)
from cards.selectors import evoucher_person_presenting
from cards.services import (
    card_activate,
    card_apply,
    card_collect,
    card_mark_ready,
    card_replace,
    card_report_lost,
    cards_mark_ready_due,
    evoucher_accept_agreement,
    evoucher_activate_at_pharmacy,
    evoucher_agreement_current,
    evoucher_face_authenticate,
    evoucher_presentation_code_issue,
    street_point_ready_working_day,
)
from cities.tests.factories import CityFactory
from common.errors import CommonErrorCode
from persons.resident_id import make_resident_id
from persons.tests.factories import PersonFactory
from settlement.tests.factories import InstitutionFactory, PharmacyFactory
from users.tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 16)  # a Monday
PIN = "258036"
COUNTY = SocialSecurityCard.Site.COUNTY_CENTER
STREET = SocialSecurityCard.Site.STREET_POINT
Status = SocialSecurityCard.Status
AGENT_ID = make_resident_id("350100", date(1960, 5, 4), 31)


@pytest.fixture(autouse=True)
def now():
    return set_clock(at(TODAY, 10))


@pytest.fixture
def person():
    return PersonFactory(city=CityFactory())


@pytest.fixture
def operator():
    return OperatorFactory()


def apply(person, site=COUNTY, by=None, **kwargs) -> SocialSecurityCard:
    kwargs.setdefault("insured_resident_id", person.resident_id)
    return card_apply(person=person, site=site, by=by, **kwargs)


def statuses(card) -> list[str]:
    return list(card.history.order_by("history_id").values_list("status", flat=True))


# --- Applying ---------------------------------------------------------------------------------


def test_the_county_centre_issues_on_the_spot_recording_each_state(person, operator, now):
    card = apply(person, COUNTY, by=operator)
    assert card.status == Status.ISSUED
    assert (card.ready_on, card.applied_at, card.issued_at) == (TODAY, now, now)
    assert statuses(card) == [Status.PENDING, Status.READY, Status.ISSUED]
    assert set(card.history.values_list("history_user_id", flat=True)) == {operator.id}
    assert card.created_by == operator
    assert len(card.number) == 9 and card.number[0].isalpha() and card.number[1:].isdigit()


def test_a_street_point_card_goes_through_every_state_in_turn(person, operator):
    card = apply(person, STREET, by=operator, ready_working_day=3)
    assert (card.status, card.ready_on) == (Status.PENDING, date(2026, 3, 19))

    # Not before its day.
    set_clock(at(date(2026, 3, 18), 17))
    assert cards_mark_ready_due(today=date(2026, 3, 18)) == 0
    card.refresh_from_db()
    assert card.status == Status.PENDING

    set_clock(at(date(2026, 3, 19), 8))
    assert cards_mark_ready_due(today=date(2026, 3, 19)) == 1
    assert cards_mark_ready_due(today=date(2026, 3, 19)) == 0  # once
    card.refresh_from_db()
    assert card.status == Status.READY

    card = card_collect(card=card, by=operator)
    assert (card.status, card.issued_at) == (Status.ISSUED, at(date(2026, 3, 19), 8))
    card = card_activate(card=card, pin=PIN, by=operator)
    assert card.status == Status.ACTIVE
    assert statuses(card) == [Status.PENDING, Status.READY, Status.ISSUED, Status.ACTIVE]


def test_no_state_can_be_skipped(person):
    card = apply(person, STREET)
    with refused(CardErrorCode.CARD_TRANSITION_NOT_ALLOWED):
        card_collect(card=card, by=None)
    with refused(CardErrorCode.CARD_TRANSITION_NOT_ALLOWED):
        card_activate(card=card, pin=PIN, by=None)
    with refused(CardErrorCode.CARD_TRANSITION_NOT_ALLOWED):
        card_report_lost(card=card, by=None)
    card = card_mark_ready(card=card)
    with refused(CardErrorCode.CARD_TRANSITION_NOT_ALLOWED):
        card_mark_ready(card=card)
    with refused(CardErrorCode.CARD_TRANSITION_NOT_ALLOWED) as excinfo:
        card_activate(card=card, pin=PIN, by=None)
    assert excinfo.value.extra == {"current_status": Status.READY}
    card = card_collect(card=card, by=None)
    with refused(CardErrorCode.CARD_TRANSITION_NOT_ALLOWED):
        card_collect(card=card, by=None)
    card = card_activate(card=card, pin=PIN, by=None)
    with refused(CardErrorCode.CARD_TRANSITION_NOT_ALLOWED):
        card_activate(card=card, pin="369258", by=None)
    assert statuses(card) == [Status.PENDING, Status.READY, Status.ISSUED, Status.ACTIVE]


@pytest.mark.parametrize(
    ("applied", "ready"),
    [
        (date(2026, 3, 16), date(2026, 3, 19)),  # Monday: Thursday
        (date(2026, 3, 20), date(2026, 3, 25)),  # Friday: over the weekend
        (date(2026, 3, 21), date(2026, 3, 25)),  # on a Saturday: Monday counts first
        # Mid-Autumn Festival (Friday 25 September), then the weekend.
        (date(2026, 9, 24), date(2026, 9, 30)),
        # National Day, 1-7 October 2026 off, Saturday 10 October a make-up working day.
        (date(2026, 9, 29), date(2026, 10, 9)),
        (date(2026, 9, 30), date(2026, 10, 10)),
        (date(2026, 10, 1), date(2026, 10, 10)),
        # Sunday 20 September 2026 is a make-up working day too.
        (date(2026, 9, 18), date(2026, 9, 22)),
        # Spring Festival, 15-23 February 2026 off, Saturday 14 February worked.
        (date(2026, 2, 13), date(2026, 2, 25)),
        # Labour Day, 1-5 May 2026 off, Saturday 9 May worked.
        (date(2026, 4, 30), date(2026, 5, 8)),
        (date(2026, 5, 6), date(2026, 5, 9)),
    ],
)
def test_street_point_cards_ready_on_the_third_working_day_count_the_calendar(
    person, applied, ready
):
    set_clock(at(applied, 11))
    card = apply(person, STREET, ready_working_day=3)
    assert card.ready_on == ready


@pytest.mark.parametrize(
    ("ready_working_day", "ready"),
    [
        (1, date(2026, 9, 30)),  # the next day
        (2, date(2026, 10, 8)),  # after National Day's week off, 1-7 October
        (3, date(2026, 10, 9)),
    ],
)
def test_a_street_point_card_is_ready_on_the_working_day_chosen(person, ready_working_day, ready):
    set_clock(at(date(2026, 9, 29), 11))
    card = apply(person, STREET, ready_working_day=ready_working_day)
    assert card.ready_on == ready


@pytest.mark.parametrize("wrong", [0, 4, -1])
def test_a_ready_day_beyond_three_working_days_is_refused(person, wrong):
    with refused(CommonErrorCode.VALIDATION_ERROR):
        apply(person, STREET, ready_working_day=wrong)
    assert not SocialSecurityCard.objects.filter(person=person).exists()


def test_without_a_choice_the_cards_number_gives_the_day(person):
    """Deterministic: the same number always gives the same day; across numbers every one of the
    three days occurs, about as often."""
    set_clock(at(date(2026, 3, 16), 11))  # a Monday: working days 1, 2, 3 are Tue, Wed, Thu
    card = apply(person, STREET, number="K12345678")
    day = street_point_ready_working_day("K12345678")
    assert day == street_point_ready_working_day("K12345678")
    assert card.ready_on == date(2026, 3, 16) + timedelta(days=day)
    spread = [street_point_ready_working_day(f"K{n:08d}") for n in range(3000)]
    assert {day: spread.count(day) for day in (1, 2, 3)} == {
        day: pytest.approx(1000, abs=100) for day in (1, 2, 3)
    }


def test_the_ready_day_counts_from_the_callers_time_not_the_clocks(person):
    """The interface reads the clock once and passes it: the working days count from that day
    while the domain clock stands still on Monday 16 March."""
    applied = at(date(2026, 4, 30), 11)  # before Labour Day, 1-5 May 2026 off
    card = apply(person, STREET, now=applied, ready_working_day=3)
    assert (card.applied_at, card.ready_on) == (applied, date(2026, 5, 8))


def test_an_entrusted_agent_presents_both_ids(person, operator):
    card = apply(
        person,
        STREET,
        by=operator,
        agent_name="  Zhang Min ",
        agent_resident_id=AGENT_ID.lower(),
    )
    assert (card.agent_name, card.agent_resident_id) == ("Zhang Min", AGENT_ID.upper())


@pytest.mark.parametrize(
    ("agent_name", "agent_resident_id"),
    [
        ("Zhang Min", ""),  # no ID of the agent's own
        ("", AGENT_ID),  # an ID but nobody named
        ("   ", AGENT_ID),
        ("Zhang Min", AGENT_ID[:-1] + ("0" if AGENT_ID[-1] != "0" else "1")),  # not a valid ID
        ("Zhang Min", "not an id"),
    ],
)
def test_an_agent_without_a_valid_id_of_their_own_is_refused(person, agent_name, agent_resident_id):
    with refused(CardErrorCode.AGENT_ID_REQUIRED):
        apply(person, agent_name=agent_name, agent_resident_id=agent_resident_id)
    assert not SocialSecurityCard.objects.exists()


def test_the_agent_cannot_be_the_insured_person(person):
    with refused(CardErrorCode.AGENT_ID_REQUIRED):
        apply(person, agent_name="Myself", agent_resident_id=person.resident_id)


@pytest.mark.parametrize(
    "presented", ["", "other", make_resident_id("110105", date(1970, 1, 1), 998)]
)
def test_the_insured_persons_own_id_must_be_presented(person, presented):
    with refused(CardErrorCode.INSURED_ID_MISMATCH):
        apply(person, insured_resident_id=presented)
    with refused(CardErrorCode.INSURED_ID_MISMATCH):
        apply(
            person,
            insured_resident_id=presented,
            agent_name="Zhang Min",
            agent_resident_id=AGENT_ID,
        )
    assert not SocialSecurityCard.objects.exists()


def test_the_insured_id_is_compared_normalised():
    person = PersonFactory(
        city=CityFactory(), resident_id=make_resident_id("110105", date(1949, 12, 31), 2)
    )
    assert person.resident_id.endswith("X")
    assert (
        apply(person, insured_resident_id=person.resident_id.lower() + " ").status == Status.ISSUED
    )


# --- Activation and the PIN -------------------------------------------------------------------


def test_the_pin_is_stored_hashed_and_nowhere_in_history(person):
    card = card_activate(card=apply(person), pin=PIN, by=None)
    card.refresh_from_db()
    assert card.pin_hash and PIN not in card.pin_hash
    assert check_password(PIN, card.pin_hash)
    assert not check_password("369258", card.pin_hash)
    assert card.activated_at is not None
    history_fields = {field.name for field in card.history.model._meta.fields}
    assert "pin_hash" not in history_fields


@pytest.mark.parametrize(
    "pin",
    [
        "111111",
        "000000",
        "123456",
        "012345",
        "345678",
        "654321",
        "987654",
        "12345",
        "1234567",
        "12a456",
        "",
    ],
)
def test_weak_or_malformed_pins_are_refused(person, pin):
    card = apply(person)
    with refused(CardErrorCode.CARD_PIN_INVALID):
        card_activate(card=card, pin=pin, by=None)
    card.refresh_from_db()
    assert (card.status, card.pin_hash) == (Status.ISSUED, "")


@pytest.mark.parametrize(
    "pin", ["\uff12\uff15\uff18\uff10\uff13\uff16", "258036\n"], ids=["full-width", "newline"]
)
def test_pins_are_six_ascii_digits_exactly(person, pin):
    with refused(CardErrorCode.CARD_PIN_INVALID):
        card_activate(card=apply(person), pin=pin, by=None)


# --- Lost and replaced -------------------------------------------------------------------------


def test_a_lost_card_is_replaced_once(person, operator, now):
    card = card_activate(card=apply(person), pin=PIN, by=None)
    with refused(CardErrorCode.CARD_ALREADY_HELD):
        apply(person)
    with refused(CardErrorCode.CARD_TRANSITION_NOT_ALLOWED):
        card_replace(card=card, site=COUNTY, insured_resident_id=person.resident_id, by=operator)

    lost = card_report_lost(card=card, by=operator)
    assert (lost.status, lost.lost_at) == (Status.LOST, now)
    assert statuses(lost)[-1] == Status.LOST
    with refused(CardErrorCode.CARD_TRANSITION_NOT_ALLOWED):
        card_report_lost(card=lost, by=operator)
    with refused(CardErrorCode.CARD_TRANSITION_NOT_ALLOWED):
        card_activate(card=lost, pin=PIN, by=operator)

    new = card_replace(card=lost, site=STREET, insured_resident_id=person.resident_id, by=operator)
    # Within three working days of Monday 16 March, on the day its number gives.
    assert (new.status, new.replaces_id, new.ready_on) == (
        Status.PENDING,
        lost.id,
        date(2026, 3, 16) + timedelta(days=street_point_ready_working_day(new.number)),
    )
    assert new.number != lost.number
    lost.refresh_from_db()
    again = card_replace(
        card=lost, site=STREET, insured_resident_id=person.resident_id, by=operator
    )
    assert again.pk == new.pk
    assert SocialSecurityCard.objects.filter(person=person).count() == 2


def test_an_issued_card_not_yet_activated_can_be_reported_lost(person):
    card = card_report_lost(card=apply(person), by=None)
    assert card.status == Status.LOST
    replacement = card_replace(
        card=card, site=COUNTY, insured_resident_id=person.resident_id, by=None
    )
    assert replacement.status == Status.ISSUED


def test_a_replacement_needs_the_insured_persons_id_too(person):
    lost = card_report_lost(card=apply(person), by=None)
    with refused(CardErrorCode.INSURED_ID_MISMATCH):
        card_replace(card=lost, site=COUNTY, insured_resident_id="", by=None)
    with refused(CardErrorCode.AGENT_ID_REQUIRED):
        card_replace(
            card=lost,
            site=COUNTY,
            insured_resident_id=person.resident_id,
            agent_name="Zhang Min",
            agent_resident_id="",
            by=None,
        )


# --- The e-voucher: agreement -----------------------------------------------------------------


def current_version() -> str:
    agreement = evoucher_agreement_current()
    if agreement is None:  # a transactional test's flush removes the migration's row
        agreement = EVoucherAgreement.objects.create(
            version="2025.1", title="Agreement", text="...", effective_from=date(2020, 1, 1)
        )
    return agreement.version


def accept(person, platform=EVoucher.Platform.WECHAT, version=None):
    return evoucher_accept_agreement(
        person=person, platform=platform, agreement_version=version or current_version(), by=None
    )


def face(person, outcome=FaceAuthAttempt.Outcome.PASS):
    return evoucher_face_authenticate(person=person, outcome=outcome, by=None)


def test_accepting_the_current_agreement(person, now):
    voucher = accept(person, EVoucher.Platform.NHSA_APP)
    assert voucher.status == EVoucher.Status.AGREEMENT_ACCEPTED
    assert (voucher.platform, voucher.agreement.version, voucher.agreement_accepted_at) == (
        EVoucher.Platform.NHSA_APP,
        current_version(),
        now,
    )
    # A retry changes nothing; another platform is recorded.
    assert accept(person, EVoucher.Platform.NHSA_APP).agreement_accepted_at == now
    assert accept(person, EVoucher.Platform.ALIPAY).platform == EVoucher.Platform.ALIPAY


def test_only_the_agreement_in_force_can_be_accepted(person):
    old = current_version()
    EVoucherAgreement.objects.create(
        version="2026.2", title="Agreement", text="New terms", effective_from=date(2026, 4, 1)
    )
    # Not in force yet.
    with refused(CardErrorCode.AGREEMENT_VERSION_NOT_CURRENT) as excinfo:
        accept(person, version="2026.2")
    assert excinfo.value.extra == {"current_version": old}
    set_clock(at(date(2026, 4, 1)))
    with refused(CardErrorCode.AGREEMENT_VERSION_NOT_CURRENT) as excinfo:
        accept(person, version=old)
    assert excinfo.value.extra == {"current_version": "2026.2"}
    assert accept(person, version="2026.2").agreement.version == "2026.2"


def test_online_acceptance_is_not_through_a_pharmacy(person):
    with refused(CommonErrorCode.VALIDATION_ERROR):
        accept(person, EVoucher.Platform.PHARMACY)
    assert person.evoucher.status == EVoucher.Status.NOT_ACTIVATED


# --- The e-voucher: face authentication --------------------------------------------------------


def test_face_authentication_passes_and_activates(person, now):
    accept(person)
    result = face(person)
    voucher = result.evoucher
    assert voucher.status == EVoucher.Status.ACTIVATED
    assert voucher.activated_at == now
    assert (result.attempt.outcome, result.retry_after) == (FaceAuthAttempt.Outcome.PASS, None)
    assert list(voucher.history.order_by("history_id").values_list("status", flat=True)) == [
        EVoucher.Status.NOT_ACTIVATED,
        EVoucher.Status.AGREEMENT_ACCEPTED,
        EVoucher.Status.ACTIVATED,
    ]
    with refused(CardErrorCode.EVOUCHER_TRANSITION_NOT_ALLOWED):
        face(person)
    with refused(CardErrorCode.EVOUCHER_TRANSITION_NOT_ALLOWED):
        accept(person)


def test_face_authentication_needs_the_agreement_first(person):
    with refused(CardErrorCode.EVOUCHER_TRANSITION_NOT_ALLOWED):
        face(person)
    assert not FaceAuthAttempt.objects.exists()


@pytest.mark.parametrize(
    "failure", [FaceAuthAttempt.Outcome.FACE_MISMATCH, FaceAuthAttempt.Outcome.LIVENESS_FAILED]
)
def test_failures_count_down_the_attempts(person, failure):
    accept(person)
    limit = settings.EVOUCHER_FACE_AUTH_MAX_FAILURES
    result = face(person, failure)
    assert result.evoucher.status == EVoucher.Status.AGREEMENT_ACCEPTED
    assert result.attempts_left == limit - 1
    assert result.attempt.outcome == failure
    assert face(person, failure).attempts_left == limit - 2


def test_a_provider_outage_is_not_the_persons_failure(person):
    accept(person)
    limit = settings.EVOUCHER_FACE_AUTH_MAX_FAILURES
    for _ in range(limit + 2):
        result = face(person, FaceAuthAttempt.Outcome.PROVIDER_UNAVAILABLE)
        assert (result.attempts_left, result.retry_after) == (limit, 30)
    assert result.evoucher.locked_until is None
    assert face(person).evoucher.status == EVoucher.Status.ACTIVATED
    assert FaceAuthAttempt.objects.count() == limit + 3


def test_a_pass_clears_earlier_failures(person):
    accept(person)
    face(person, FaceAuthAttempt.Outcome.FACE_MISMATCH)
    face(person, FaceAuthAttempt.Outcome.LIVENESS_FAILED)
    voucher = face(person).evoucher
    assert (voucher.consecutive_failures, voucher.locked_until) == (0, None)


def test_repeated_failures_lock_attempts_for_a_while(person, now):
    accept(person)
    limit = settings.EVOUCHER_FACE_AUTH_MAX_FAILURES
    lock = timedelta(minutes=settings.EVOUCHER_FACE_AUTH_LOCK_MINUTES)
    for _ in range(limit - 1):
        face(person, FaceAuthAttempt.Outcome.FACE_MISMATCH)
    result = face(person, FaceAuthAttempt.Outcome.LIVENESS_FAILED)
    assert result.attempts_left == 0
    assert result.retry_after == lock.total_seconds()
    assert result.evoucher.locked_until == now + lock

    set_clock(now + lock - timedelta(minutes=1))
    with refused(CardErrorCode.FACE_AUTH_LOCKED) as excinfo:
        face(person)
    assert excinfo.value.headers == {"Retry-After": "61"}
    assert datetime.fromisoformat(excinfo.value.extra["locked_until"]) == now + lock
    assert FaceAuthAttempt.objects.count() == limit  # the refused attempt is not one

    set_clock(now + lock + timedelta(seconds=1))
    assert face(person).evoucher.status == EVoucher.Status.ACTIVATED


def test_after_a_lock_the_count_starts_again(person, now):
    accept(person)
    limit = settings.EVOUCHER_FACE_AUTH_MAX_FAILURES
    for _ in range(limit):
        face(person, FaceAuthAttempt.Outcome.FACE_MISMATCH)
    set_clock(now + timedelta(minutes=settings.EVOUCHER_FACE_AUTH_LOCK_MINUTES, seconds=1))
    assert face(person, FaceAuthAttempt.Outcome.FACE_MISMATCH).attempts_left == limit - 1


def test_face_authentication_decides_by_the_callers_time_not_the_clocks(person, now):
    """The interface reads the clock once and passes it: the lock, the attempt and the activation
    follow that time while the domain clock stands still."""
    accept(person)
    for _ in range(settings.EVOUCHER_FACE_AUTH_MAX_FAILURES):
        face(person, FaceAuthAttempt.Outcome.FACE_MISMATCH)
    with refused(CardErrorCode.FACE_AUTH_LOCKED):
        face(person)
    later = now + timedelta(minutes=settings.EVOUCHER_FACE_AUTH_LOCK_MINUTES, seconds=1)
    result = evoucher_face_authenticate(person=person, outcome=None, by=None, now=later)
    assert (result.evoucher.status, result.evoucher.activated_at, result.attempt.attempted_at) == (
        EVoucher.Status.ACTIVATED,
        later,
        later,
    )


def test_outcomes_are_chosen_only_in_sandbox_mode(person, settings):
    accept(person)
    settings.SANDBOX_MODE = False
    with refused(CardErrorCode.SANDBOX_OUTCOME_NOT_ALLOWED):
        face(person, FaceAuthAttempt.Outcome.FACE_MISMATCH)
    # Without a chosen outcome the (simulated) provider passes.
    assert evoucher_face_authenticate(person=person, outcome=None, by=None).evoucher.status == (
        EVoucher.Status.ACTIVATED
    )


# --- The e-voucher at a designated pharmacy ------------------------------------------------------


def at_pharmacy(person, pharmacy=None, *, resident_id=None, name=None, outcome=None):
    return evoucher_activate_at_pharmacy(
        resident_id=person.resident_id if resident_id is None else resident_id,
        name=person.name if name is None else name,
        face_outcome=outcome,
        institution=pharmacy or PharmacyFactory(city=person.city),
        by=None,
    )


def test_a_designated_pharmacy_activates_offline(person, now):
    pharmacy = PharmacyFactory(city=person.city)
    voucher = at_pharmacy(
        person, pharmacy, resident_id=person.resident_id.lower(), name=f" {person.name} "
    )
    assert voucher.status == EVoucher.Status.ACTIVATED
    assert (voucher.platform, voucher.activated_at_institution, voucher.activated_at) == (
        EVoucher.Platform.PHARMACY,
        pharmacy,
        now,
    )
    assert voucher.agreement.version == current_version()
    attempt = voucher.face_attempts.get()
    assert (attempt.platform, attempt.outcome) == (
        EVoucher.Platform.PHARMACY,
        FaceAuthAttempt.Outcome.PASS,
    )
    # A retry answers the same voucher and records nothing more.
    assert at_pharmacy(person, pharmacy).activated_at == now
    assert voucher.face_attempts.count() == 1


def test_a_pharmacy_finishes_what_was_started_online_even_when_face_checks_are_locked(person):
    accept(person, EVoucher.Platform.ALIPAY)
    for _ in range(settings.EVOUCHER_FACE_AUTH_MAX_FAILURES):
        face(person, FaceAuthAttempt.Outcome.FACE_MISMATCH)
    voucher = at_pharmacy(person)
    assert voucher.status == EVoucher.Status.ACTIVATED
    assert (voucher.platform, voucher.locked_until) == (EVoucher.Platform.PHARMACY, None)


def test_a_pharmacy_activates_under_the_agreement_in_force_at_the_callers_time(person, now):
    current_version()
    EVoucherAgreement.objects.create(
        version="2026.2", title="Agreement", text="New terms", effective_from=date(2026, 4, 1)
    )
    later = at(date(2026, 4, 1), 9)
    voucher = evoucher_activate_at_pharmacy(
        resident_id=person.resident_id,
        name=person.name,
        face_outcome=None,
        institution=PharmacyFactory(city=person.city),
        by=None,
        now=later,
    )
    # The domain clock is still in March, when the earlier agreement was in force.
    assert (voucher.agreement.version, voucher.activated_at) == ("2026.2", later)
    assert voucher.face_attempts.get().attempted_at == later


@pytest.mark.parametrize(
    "institution",
    [
        lambda city: InstitutionFactory(city=city),
        lambda city: PharmacyFactory(city=city, is_designated=False),
        lambda city: None,
    ],
    ids=["hospital", "not-designated", "none"],
)
def test_only_a_designated_pharmacy_activates_offline(person, institution):
    with refused(CardErrorCode.INSTITUTION_NOT_PHARMACY):
        evoucher_activate_at_pharmacy(
            resident_id=person.resident_id,
            name=person.name,
            face_outcome=None,
            institution=institution(person.city),
            by=None,
        )
    person.evoucher.refresh_from_db()
    assert person.evoucher.status == EVoucher.Status.NOT_ACTIVATED


UNINSURED_ID = make_resident_id("110105", date(1970, 1, 1), 555)


@pytest.mark.parametrize(
    "presented",
    [
        {"resident_id": UNINSURED_ID},
        {"resident_id": UNINSURED_ID, "outcome": FaceAuthAttempt.Outcome.FACE_MISMATCH},
        {"name": "Someone Else"},
        {"outcome": FaceAuthAttempt.Outcome.FACE_MISMATCH},
        {"outcome": FaceAuthAttempt.Outcome.LIVENESS_FAILED},
    ],
    ids=["unknown-id", "unknown-id-face-fails", "other-name", "face-mismatch", "liveness"],
)
def test_a_pharmacy_activates_only_the_verified_person_and_learns_nothing_else(person, presented):
    with refused(CardErrorCode.IDENTITY_NOT_VERIFIED) as excinfo:
        at_pharmacy(person, **presented)
    # One answer whatever was wrong: it does not tell whether the ID is insured.
    assert (excinfo.value.detail, excinfo.value.errors, excinfo.value.extra) == (
        CardErrorCode.IDENTITY_NOT_VERIFIED.title,
        [],
        {},
    )
    person.evoucher.refresh_from_db()
    assert person.evoucher.status == EVoucher.Status.NOT_ACTIVATED
    assert not FaceAuthAttempt.objects.exists()


def test_a_provider_outage_at_the_pharmacy_is_told_before_anyone_is_looked_up(person):
    for resident_id in (person.resident_id, UNINSURED_ID):
        with refused(CardErrorCode.FACE_AUTH_UNAVAILABLE) as excinfo:
            at_pharmacy(
                person,
                resident_id=resident_id,
                outcome=FaceAuthAttempt.Outcome.PROVIDER_UNAVAILABLE,
            )
        assert excinfo.value.headers == {"Retry-After": "30"}


def test_pharmacy_face_outcomes_are_chosen_only_in_sandbox_mode(person, settings):
    settings.SANDBOX_MODE = False
    with refused(CardErrorCode.SANDBOX_OUTCOME_NOT_ALLOWED):
        at_pharmacy(person, outcome=FaceAuthAttempt.Outcome.PASS)


def test_a_pharmacy_needs_an_agreement_in_force(person):
    EVoucherAgreement.objects.all().delete()
    with refused(CardErrorCode.AGREEMENT_VERSION_NOT_CURRENT):
        at_pharmacy(person)


# --- The e-voucher's presentation codes (its dynamic QR code) ------------------------------------


def activated(person):
    accept(person)
    face(person)
    return person


def test_an_activated_voucher_shows_a_short_lived_code_that_identifies_its_person(person, now):
    issued = evoucher_presentation_code_issue(person=activated(person))
    assert len(issued.code) == 32 and issued.code == issued.code.upper()
    lifetime = timedelta(minutes=settings.EVOUCHER_PRESENTATION_CODE_MINUTES)
    assert (issued.issued_at, issued.expires_at) == (now, now + lifetime)
    # Kept only as a digest.
    stored = EVoucherPresentationCode.objects.get()
    assert issued.code not in stored.digest
    assert evoucher_person_presenting(code=issued.code, now=now) == person.pk
    assert evoucher_person_presenting(code=issued.code.lower(), now=now) == person.pk
    assert evoucher_person_presenting(
        code=issued.code, now=issued.expires_at - timedelta(seconds=1)
    )
    assert evoucher_person_presenting(code=issued.code, now=issued.expires_at) is None
    assert evoucher_person_presenting(code="0" * 32, now=now) is None


def test_a_new_code_retires_the_previous_one(person, now):
    activated(person)
    first = evoucher_presentation_code_issue(person=person)
    second = evoucher_presentation_code_issue(person=person)
    assert first.code != second.code
    assert evoucher_person_presenting(code=first.code, now=now) is None
    assert evoucher_person_presenting(code=second.code, now=now) == person.pk
    assert EVoucherPresentationCode.objects.filter(retired_at__isnull=True).count() == 1


def test_the_database_keeps_one_current_code_per_voucher(person, now):
    activated(person)
    evoucher_presentation_code_issue(person=person)
    with pytest.raises(IntegrityError), transaction.atomic():
        EVoucherPresentationCode.objects.create(
            evoucher=person.evoucher,
            digest="f" * 64,
            issued_at=now,
            expires_at=now + timedelta(minutes=1),
        )


def test_a_voucher_not_activated_shows_no_code(person):
    accept(person)
    with refused(CardErrorCode.EVOUCHER_TRANSITION_NOT_ALLOWED):
        evoucher_presentation_code_issue(person=person)
    assert not EVoucherPresentationCode.objects.exists()
