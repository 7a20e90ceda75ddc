"""Provisioning: a city with its accounts and benefit policy; an enrolment with its e-voucher and,
where due, a personal account at zero; an institution with its account and its city's policy; each
once."""

from datetime import date
from decimal import Decimal

import pytest

from accounts.models import Account
from accounts.tests.support import set_clock
from cards.models import EVoucher
from cities.models import City
from cities.services import city_create
from cities.tests.factories import CityFactory
from institutions.models import Institution
from persons.models import InsuredPerson
from persons.resident_id import make_resident_id
from provisioning.services import city_provision, institution_register, person_enrol
from settlement.models import BenefitPolicy, BenefitRule
from settlement.services import DEFAULT_RULES

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 16)
EMPLOYEE, RESIDENT = InsuredPerson.Scheme.EMPLOYEE, InsuredPerson.Scheme.RESIDENT
ACTIVE, RETIRED = InsuredPerson.EmploymentStatus.ACTIVE, InsuredPerson.EmploymentStatus.RETIRED


@pytest.fixture(autouse=True)
def now():
    return set_clock(TODAY)


def city_accounts(city) -> list[str]:
    return sorted(
        Account.objects.filter(city=city, person=None, institution=None).values_list(
            "kind", flat=True
        )
    )


# --- A city ------------------------------------------------------------------------------------


def test_a_provisioned_city_has_its_accounts_and_its_policy():
    city = city_provision(code="330100", name="Hangzhou", average_wage=Decimal("10000.00"))
    assert city_accounts(city) == sorted(Account.CITY_KINDS)
    assert all(account.balance == Decimal("0.00") for account in Account.objects.filter(city=city))
    policy = BenefitPolicy.objects.get(city=city)
    assert policy.employee_annual_cap == Decimal("720000.00")
    assert policy.rules.count() == len(DEFAULT_RULES)


def test_provisioning_a_city_again_creates_nothing_more():
    first = city_provision(code="330100", name="Hangzhou")
    again = city_provision(code="330100", name="Another name", average_wage=Decimal("1.00"))
    assert again.pk == first.pk
    assert (again.name, again.average_wage) == ("Hangzhou", first.average_wage)
    assert City.objects.count() == 1
    assert city_accounts(first) == sorted(Account.CITY_KINDS)
    assert BenefitPolicy.objects.count() == 1
    assert BenefitRule.objects.count() == len(DEFAULT_RULES)


def test_a_city_record_alone_is_given_what_it_lacks():
    bare = city_create(code="330100", name="Hangzhou")
    assert city_accounts(bare) == []
    assert not BenefitPolicy.objects.filter(city=bare).exists()
    assert city_provision(code="330100", name="Hangzhou").pk == bare.pk
    assert city_accounts(bare) == sorted(Account.CITY_KINDS)
    assert BenefitPolicy.objects.filter(city=bare).exists()


# --- An enrolment ------------------------------------------------------------------------------


def number(sequence: int) -> str:
    return make_resident_id("350100", date(1980, 7, 1), sequence)


def enrol(city, sequence=11, **fields):
    fields.setdefault("scheme", EMPLOYEE)
    fields.setdefault("employment_status", ACTIVE if fields["scheme"] == EMPLOYEE else "")
    return person_enrol(resident_id=number(sequence), name="Chen Jing", city=city, **fields)


@pytest.mark.parametrize(
    ("scheme", "status"), [(EMPLOYEE, ACTIVE), (EMPLOYEE, RETIRED), (RESIDENT, "")]
)
def test_enrolment_opens_a_voucher_and_a_personal_account_at_zero(scheme, status):
    city = CityFactory()
    person = enrol(city, scheme=scheme, employment_status=status)
    assert person.enrolled_on == TODAY
    assert person.evoucher.status == EVoucher.Status.NOT_ACTIVATED
    account = Account.objects.get(person=person)
    assert (account.kind, account.city_id, account.balance) == (
        Account.Kind.PERSONAL,
        city.id,
        Decimal("0.00"),
    )


def test_residents_get_no_account_once_accounts_are_abolished():
    city = CityFactory(resident_accounts_abolished_on=date(2026, 3, 1))
    before = enrol(city, 1, scheme=RESIDENT, enrolled_on=date(2026, 2, 28))
    on_the_day = enrol(city, 3, scheme=RESIDENT, enrolled_on=date(2026, 3, 1))
    by_default_today = enrol(city, 4, scheme=RESIDENT)
    employee = enrol(city, 5)
    assert Account.objects.filter(person=before).exists()
    assert not Account.objects.filter(person=on_the_day).exists()
    assert not Account.objects.filter(person=by_default_today).exists()
    assert Account.objects.filter(person=employee).exists()
    assert EVoucher.objects.filter(person=on_the_day).exists()


def test_enrolling_again_with_the_same_data_returns_the_first_enrolment():
    city = CityFactory()
    first = enrol(city, declared_wage=Decimal("9000.00"))
    again = enrol(city, declared_wage=Decimal("9000.00"))
    assert again.pk == first.pk
    assert InsuredPerson.objects.count() == 1
    assert Account.objects.filter(kind=Account.Kind.PERSONAL).count() == 1
    assert EVoucher.objects.count() == 1


def test_enrolling_again_later_opens_no_account_the_first_enrolment_did_not_have():
    city = CityFactory(resident_accounts_abolished_on=date(2026, 3, 1))
    first = enrol(city, scheme=RESIDENT)
    again = enrol(city, scheme=RESIDENT, enrolled_on=date(2026, 2, 1))
    assert again.pk == first.pk
    assert not Account.objects.filter(person=first).exists()
    assert EVoucher.objects.count() == 1


# --- An institution ----------------------------------------------------------------------------


def test_a_registered_institution_has_its_account_and_its_citys_policy():
    city = city_create(code="330100", name="Hangzhou")
    hospital = institution_register(
        code="H330001", name="Zhejiang Hospital", kind=Institution.Kind.HOSPITAL, level=3, city=city
    )
    account = Account.objects.get(institution=hospital)
    assert (account.kind, account.city_id, account.balance) == (
        Account.Kind.INSTITUTION,
        city.id,
        Decimal("0.00"),
    )
    assert BenefitPolicy.objects.filter(city=city).exists()


def test_registering_an_institution_again_creates_nothing_more():
    city = CityFactory()
    fields = {"kind": Institution.Kind.PHARMACY, "city": city}
    first = institution_register(code="P330001", name="Pharmacy", **fields)
    again = institution_register(code="P330001", name="Another name", **fields)
    assert again.pk == first.pk
    assert again.name == "Pharmacy"
    assert Institution.objects.count() == 1
    assert Account.objects.filter(institution=first).count() == 1
    assert BenefitPolicy.objects.count() == 1
