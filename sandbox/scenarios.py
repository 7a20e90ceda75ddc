"""The scenario catalogue: a fresh person in exactly a given state, built through the real services.

Each scenario enrols a person in a city with the right switches and fast-forwards their history
(card, e-voucher, contributions, crediting, upload) with the same services the real flows use,
so the state is genuine: the remedies work on it.
"""

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext, gettext_lazy
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS

from accounts.crediting import crediting_credit_account, crediting_run_open
from accounts.employer_payments import employee_month_collect
from accounts.reasons import ReasonCode
from accounts.services import contribution_record
from cards.models import EVoucher, SocialSecurityCard
from cards.services import (
    card_activate,
    card_apply,
    evoucher_accept_agreement,
    evoucher_agreement_current,
    evoucher_face_authenticate,
)
from common import clock
from common.errors import CommonErrorCode, DomainError, field_error
from employers.credit_code import make_credit_code
from employers.models import Employer
from employers.services import (
    employer_employee_add,
    employer_payment_mode_set,
    employer_register,
)
from persons.models import InsuredPerson
from persons.resident_id import make_resident_id
from persons.services import person_login_create
from provisioning.services import person_enrol
from sandbox.names import random_name
from sandbox.world import sandbox_city
from sandbox.worlds import world_city
from uploads.services import upload_person_now

DEMO_PIN = "258036"


@dataclass(frozen=True)
class PersonSpec:
    city_profile: str = "standard"
    scheme: str = InsuredPerson.Scheme.EMPLOYEE
    employment_status: str = InsuredPerson.EmploymentStatus.ACTIVE
    new_enrolee: bool = False  # enrolled today; otherwise enrolled last month with history
    card: str = "ACTIVE"  # NONE, PENDING, ISSUED, ACTIVE
    # A PENDING card is made at a street point, ready on this working day after today (1 to 3);
    # None: the day its number gives, as in the real flow.
    card_ready_working_day: int | None = None
    evoucher_activated: bool = True
    credited: bool = True
    uploaded: bool = True
    # An employer paying for the person: "" (none), or how it pays (employers.Employer.PaymentMode).
    employer_mode: str = ""
    arrears_months: int = 2  # NOT_PAYING: the months up to last month it left unpaid
    paid_base_ratio: Decimal = Decimal("0.60")  # UNDERPAYING: the share of the wage it pays on
    # An active employee's declared monthly wage; None: the city's average wage.
    declared_wage: Decimal | None = None
    # The day enrolled, at the latest the scenario's own (today for a new enrolee, else the first
    # month of its history); None: the scenario's own.
    enrolled_on: date | None = None


# What a client may choose when creating any scenario (the others are the scenario's own).
GENERAL_PARAMETERS = ("city_profile", "scheme", "declared_wage", "enrolled_on")


@dataclass(frozen=True)
class Scenario:
    code: str
    title: str
    description: str
    reasons: tuple[ReasonCode, ...]
    spec: PersonSpec
    # The notices beside the balance (inquiry.notices), which hide nothing.
    notices: tuple[str, ...] = ()
    # The PersonSpec fields a client may choose when creating it.
    parameters: tuple[str, ...] = ()

    @property
    def visible(self) -> bool:
        return all(reason == ReasonCode.FUNDS_NOT_YET_TRANSFERRED for reason in self.reasons)


R = ReasonCode
SCENARIOS: dict[str, Scenario] = {
    scenario.code: scenario
    for scenario in [
        Scenario(
            "BALANCE_VISIBLE",
            gettext_lazy("Balance visible"),
            gettext_lazy(
                "An employee with an active card and e-voucher, credited and uploaded, in a city where everything works."
            ),
            (),
            PersonSpec(),
        ),
        Scenario(
            R.CITY_INQUIRY_NOT_LAUNCHED,
            gettext_lazy("City has not launched online inquiry"),
            gettext_lazy(
                "Everything in order, but the city has not launched online inquiry (the sandbox's not_launched profile, which it gives Nanping)."
            ),
            (R.CITY_INQUIRY_NOT_LAUNCHED,),
            PersonSpec(city_profile="not_launched"),
        ),
        Scenario(
            R.EVOUCHER_NOT_ACTIVATED,
            gettext_lazy("E-voucher not activated"),
            gettext_lazy("Everything in order except the e-voucher, which was never activated."),
            (R.EVOUCHER_NOT_ACTIVATED,),
            PersonSpec(evoucher_activated=False),
        ),
        Scenario(
            R.WRONG_CHANNEL,
            gettext_lazy("Personal account not shown online"),
            gettext_lazy(
                "The city shows the personal account only at institutions and counters (the sandbox's counter_only profile, which it gives Quanzhou)."
            ),
            (R.WRONG_CHANNEL,),
            PersonSpec(city_profile="counter_only"),
        ),
        Scenario(
            R.PERSONAL_ACCOUNT_ABOLISHED,
            gettext_lazy("Resident without a personal account"),
            gettext_lazy(
                "A resident in a city that replaced resident personal accounts with outpatient pooling (the sandbox's abolished profile, which it gives Fuzhou)."
            ),
            (R.PERSONAL_ACCOUNT_ABOLISHED,),
            PersonSpec(
                city_profile="abolished", scheme=InsuredPerson.Scheme.RESIDENT, employment_status=""
            ),
        ),
        Scenario(
            R.CARD_NOT_ACTIVATED,
            gettext_lazy("Social security card not activated"),
            gettext_lazy(
                "The card was issued at the county centre but never activated. Online, and with the card at a designated hospital or pharmacy, the balance stays hidden; the activated e-voucher presented there shows it (and pays)."
            ),
            (R.CARD_NOT_ACTIVATED,),
            PersonSpec(card="ISSUED"),
        ),
        Scenario(
            "CARD_BEING_MADE",
            gettext_lazy("Card being made at a street service point"),
            gettext_lazy(
                "Everything in order except the first card, applied for today at a street service point: ready within three working days (`card_ready_working_day` 1 to 3 chooses which; otherwise the day its number gives), then collected and activated at the counter. Meanwhile the activated e-voucher serves at designated institutions."
            ),
            (R.CARD_NOT_ACTIVATED,),
            PersonSpec(card="PENDING"),
            parameters=("card_ready_working_day",),
        ),
        Scenario(
            R.DATA_NOT_UPLOADED,
            gettext_lazy("Data never reaches the national platform"),
            gettext_lazy(
                "The city has no public information channel, so it never uploads (the sandbox's no_channel profile, which it gives Zhumadian)."
            ),
            (R.DATA_NOT_UPLOADED,),
            PersonSpec(city_profile="no_channel", uploaded=False),
        ),
        Scenario(
            R.PLATFORM_BUSY,
            gettext_lazy("Query platform busy"),
            gettext_lazy(
                "The city's query platform is switched to busy (the sandbox's busy profile, which it gives Shenzhen)."
            ),
            (R.PLATFORM_BUSY,),
            PersonSpec(city_profile="busy"),
        ),
        Scenario(
            R.FUNDS_NOT_YET_TRANSFERRED,
            gettext_lazy("First crediting not posted yet"),
            gettext_lazy(
                "Enrolled today with card and e-voucher active and uploaded; the balance shows 0.00 until the first crediting."
            ),
            (R.FUNDS_NOT_YET_TRANSFERRED,),
            PersonSpec(new_enrolee=True, credited=False),
        ),
        Scenario(
            "EMPLOYER_ARREARS",
            gettext_lazy("Employer in arrears"),
            gettext_lazy(
                "An employee whose employer paid the first month, then stopped: the months up to last month are unpaid (2 by default; `arrears_months` 1 to 12), so the balance shows but does not grow, and the answer says why and what to do. Paying the employer's arrears (POST /api/v1/employers/{id}/arrears-payment) brings the missing credits."
            ),
            (),
            PersonSpec(employer_mode="NOT_PAYING"),
            notices=("EMPLOYER_ARREARS",),
            parameters=("arrears_months",),
        ),
        Scenario(
            "EMPLOYER_UNDERPAID",
            gettext_lazy("Employer paying on a base below the wage"),
            gettext_lazy(
                # xgettext:no-python-format
                "An employee whose employer paid last month on 60 % of the declared wage (`paid_base_ratio` 0.01 to 0.99): the personal account was credited on the base used, and the answer says so."
            ),
            (),
            PersonSpec(employer_mode="UNDERPAYING"),
            notices=("EMPLOYER_UNDERPAID",),
            parameters=("paid_base_ratio",),
        ),
        Scenario(
            "BRAND_NEW_ENROLEE",
            gettext_lazy("Brand-new enrolee"),
            gettext_lazy(
                "Enrolled today and nothing else yet: no e-voucher, a card still being made, not uploaded, no crediting."
            ),
            (
                R.EVOUCHER_NOT_ACTIVATED,
                R.CARD_NOT_ACTIVATED,
                R.DATA_NOT_UPLOADED,
                R.FUNDS_NOT_YET_TRANSFERRED,
            ),
            PersonSpec(
                new_enrolee=True,
                card="PENDING",
                evoucher_activated=False,
                credited=False,
                uploaded=False,
            ),
            parameters=("card_ready_working_day",),
        ),
        Scenario(
            "NOT_LAUNCHED_AND_NOT_ACTIVATED",
            gettext_lazy("Two reasons: city not launched, e-voucher not activated"),
            gettext_lazy(
                "In a city without online inquiry (the sandbox's not_launched profile), and the e-voucher was never activated either."
            ),
            (R.CITY_INQUIRY_NOT_LAUNCHED, R.EVOUCHER_NOT_ACTIVATED),
            PersonSpec(city_profile="not_launched", evoucher_activated=False),
        ),
        Scenario(
            "RETIREE_AWAITING_FIRST_CREDIT",
            gettext_lazy("Retiree awaiting the first monthly credit"),
            gettext_lazy(
                "A retiree enrolled today where the personal account is not shown online (the counter_only profile, on Quanzhou), and the first monthly credit is still to come."
            ),
            (R.WRONG_CHANNEL, R.FUNDS_NOT_YET_TRANSFERRED),
            PersonSpec(
                city_profile="counter_only",
                employment_status=InsuredPerson.EmploymentStatus.RETIRED,
                new_enrolee=True,
                credited=False,
            ),
        ),
        Scenario(
            "RESIDENT_ABOLISHED_NO_CARD",
            gettext_lazy("Resident with neither personal account nor card"),
            gettext_lazy(
                "A resident enrolled today where resident accounts are abolished (the abolished profile, on Fuzhou): no personal account by policy, no card yet, not uploaded."
            ),
            (
                R.EVOUCHER_NOT_ACTIVATED,
                R.PERSONAL_ACCOUNT_ABOLISHED,
                R.CARD_NOT_ACTIVATED,
                R.DATA_NOT_UPLOADED,
            ),
            PersonSpec(
                city_profile="abolished",
                scheme=InsuredPerson.Scheme.RESIDENT,
                employment_status="",
                new_enrolee=True,
                card="NONE",
                evoucher_activated=False,
                credited=False,
                uploaded=False,
            ),
        ),
    ]
}


@dataclass(frozen=True)
class BuiltPerson:
    person: InsuredPerson
    username: str
    password: str | None
    authorization: str


# Birth years that fit the person's situation: retirees past retirement age, active employees of
# working age, residents of any age (children included).
_BIRTH_YEARS = {"RETIRED": (1940, 1964), "ACTIVE": (1966, 2003), "": (1945, 2020)}


def _fresh_identity(
    rng: random.Random, division_code: str, employment_status: str
) -> tuple[str, str]:
    first, last = _BIRTH_YEARS[employment_status]
    span = (date(last, 12, 31) - date(first, 1, 1)).days
    while True:
        birth = date(first, 1, 1) + timedelta(days=rng.randrange(0, span))
        sequence = rng.randrange(1, 1000)
        number = make_resident_id(division_code, birth, sequence)
        if not InsuredPerson.objects.filter(resident_id=number).exists():
            # The sequence's parity is the ID's sex (GB 11643): the name fits it.
            return number, random_name(rng, "M" if sequence % 2 else "F").hanzi


def build_person(
    spec: PersonSpec,
    *,
    by=None,
    rng: random.Random | None = None,
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
    api_token: bool = True,
    world=None,
) -> BuiltPerson:
    """Enrol a person and fast-forward their history to ``spec`` with the real services, in a
    developer's ``world`` (on its clock) or, without one, in the shared cities. The login gets the
    API token ``token``, or a new one, or (``api_token`` false) none."""
    clock_id = world.clock_id if world is not None else clock.SHARED_CLOCK_ID
    with clock.using(clock_id):
        return _build_person(
            spec,
            now=clock.now(clock_id),
            by=by,
            rng=rng or random.Random(),
            username=username,
            password=password,
            token=token,
            api_token=api_token,
            world=world,
        )


def _build_person(
    spec: PersonSpec, *, now, by, rng, username, password, token, api_token, world
) -> BuiltPerson:
    today = clock.localdate(now)
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    first_month = _employment_start(spec, last_month)
    own_enrolment = today if spec.new_enrolee else first_month
    if spec.enrolled_on is not None and spec.enrolled_on > own_enrolment:
        raise DomainError(
            CommonErrorCode.VALIDATION_ERROR,
            gettext("This scenario's person is enrolled by %(day)s at the latest.")
            % {"day": own_enrolment.isoformat()},
            errors=[field_error("enrolled_on", gettext("After the scenario's own enrolment day."))],
        )
    with transaction.atomic():
        if world is not None:
            city = world_city(world, spec.city_profile, by=by)
        else:
            city = sandbox_city(spec.city_profile, by=by)
        employee = spec.scheme == InsuredPerson.Scheme.EMPLOYEE
        resident_id, name = _fresh_identity(
            rng, city.code, spec.employment_status if employee else ""
        )
        person = person_enrol(
            resident_id=resident_id,
            name=name,
            city=city,
            scheme=spec.scheme,
            employment_status=spec.employment_status if employee else "",
            declared_wage=(spec.declared_wage or city.average_wage)
            if employee and spec.employment_status == "ACTIVE"
            else None,
            enrolled_on=spec.enrolled_on or own_enrolment,
            by=by,
        )
        if spec.employer_mode:
            _employer_history(person, spec, first_month, last_month, by=by, today=today, rng=rng)
        if spec.card != "NONE":
            site = (
                SocialSecurityCard.Site.STREET_POINT
                if spec.card == "PENDING"
                else SocialSecurityCard.Site.COUNTY_CENTER
            )
            card = card_apply(
                person=person,
                site=site,
                insured_resident_id=person.resident_id,
                by=by,
                number=_card_number(rng),
                now=now,
                ready_working_day=spec.card_ready_working_day if spec.card == "PENDING" else None,
            )
            if spec.card == "ACTIVE":
                card_activate(card=card, pin=DEMO_PIN, by=by)
        if spec.evoucher_activated:
            agreement = evoucher_agreement_current()
            evoucher_accept_agreement(
                person=person,
                platform=EVoucher.Platform.WECHAT,
                agreement_version=agreement.version,
                by=by,
            )
            evoucher_face_authenticate(person=person, outcome=None, by=by)
        if spec.credited:
            _fast_forward_crediting(person, last_month, by=by, today=today)
        elif not employee:
            contribution_record(
                person=person, period=today.replace(month=1, day=1), by=by, today=today
            )
        if spec.uploaded:
            upload_person_now(person=person, by=by, now=now)

        username = username or f"p{person.id}-{rng.randrange(16**6):06x}"
        user = person_login_create(person=person, username=username, password=password)
        if token is not None:
            fixed_token_ensure(user, token)
        elif api_token:
            _, token = AuthToken.objects.create(user, expiry=None)
    return BuiltPerson(
        person=person,
        username=username,
        password=password,
        authorization=f"Token {token}" if token else "",
    )


def fixed_token_ensure(user, token: str) -> str:
    """Give ``user`` the API token ``token`` (a known one: sandbox and demo logins only)."""
    AuthToken.objects.get_or_create(
        user=user,
        token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH],
        defaults={"digest": hash_token(token), "expiry": None},
    )
    return token


def _card_number(rng: random.Random) -> str | None:
    """A reproducible card number when the caller's random source is seeded (the demo world)."""
    number = "D" + f"{rng.randrange(10**8):08d}"
    return None if SocialSecurityCard.objects.filter(number=number).exists() else number


def _months_back(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def _employment_start(spec: PersonSpec, last_month: date) -> date:
    """Last month; with arrears, the one paid month before the unpaid ones."""
    if spec.employer_mode == Employer.PaymentMode.NOT_PAYING:
        return _months_back(last_month, spec.arrears_months)
    return last_month


def _employer_history(
    person: InsuredPerson,
    spec: PersonSpec,
    first_month: date,
    last_month: date,
    *,
    by,
    today: date,
    rng: random.Random,
) -> None:
    """A sandbox employer of the person's city takes the person on and pays each month as
    ``spec`` says, through the collection's own per-person rule: every month, or the first month
    and then none (arrears), or on a lower base."""
    employer = employer_register(
        name=f"Sandbox Employer {rng.randrange(10**4):04d} Co., Ltd.",
        credit_code=make_credit_code(person.city.code, f"{rng.randrange(10**9):09d}"),
        city=person.city,
    )
    employer_employee_add(employer=employer, person=person, started_on=first_month)
    if spec.employer_mode == Employer.PaymentMode.UNDERPAYING:
        employer_payment_mode_set(
            employer=employer, mode=spec.employer_mode, paid_base_ratio=spec.paid_base_ratio
        )
    period = first_month
    while period <= last_month:
        if period > first_month and spec.employer_mode == Employer.PaymentMode.NOT_PAYING:
            employer_payment_mode_set(employer=employer, mode=spec.employer_mode)
        employee_month_collect(person=person, period=period, today=today, by=by)
        period = _months_back(period, -1)


def _fast_forward_crediting(person: InsuredPerson, period: date, *, by, today: date) -> None:
    """Last month's contribution (or the year's, for residents) and last month's crediting."""
    employed = hasattr(person, "employment")  # its months are collected (_employer_history)
    if person.is_employee and not person.is_retired and not employed:
        contribution_record(person=person, period=period, by=by, today=today)
    elif not person.is_employee:
        contribution_record(person=person, period=period.replace(month=1), by=by, today=today)
    account = getattr(person, "personal_account", None)
    if account is None:
        return
    run, _ = crediting_run_open(city=person.city, period=period, by=by, today=today)
    crediting_credit_account(run=run, account=account)


def scenario_create(
    code: str,
    *,
    by=None,
    rng: random.Random | None = None,
    parameters: dict | None = None,
    world=None,
    **login,
) -> BuiltPerson:
    """A fresh person in the scenario's state, in ``world`` if given; ``parameters`` change the
    spec's fields named in the scenario's description (``arrears_months``, ``paid_base_ratio``)
    or in GENERAL_PARAMETERS (city profile, scheme, wage, day enrolled)."""
    spec = SCENARIOS[code].spec
    if parameters:
        spec = replace(spec, **parameters)
    if spec.scheme == InsuredPerson.Scheme.RESIDENT:
        spec = replace(spec, employment_status="", employer_mode="")
    elif not spec.employment_status:
        spec = replace(spec, employment_status=InsuredPerson.EmploymentStatus.ACTIVE)
    return build_person(spec, by=by, rng=rng, world=world, **login)
