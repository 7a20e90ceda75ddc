"""Enrolment: the person, their e-voucher and, where due, a personal account at zero; once."""

from datetime import date
from decimal import Decimal

import pytest

from accounts.models import Account
from accounts.tests.support import refused, set_clock
from cards.models import EVoucher
from cities.tests.factories import CityFactory
from common.errors import ProblemError
from persons.error_codes import PersonErrorCode
from persons.models import InsuredPerson
from persons.resident_id import make_resident_id
from persons.services import person_enrol, person_login_create

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 16)
EMPLOYEE, RESIDENT = InsuredPerson.Scheme.EMPLOYEE, InsuredPerson.Scheme.RESIDENT
ACTIVE, RETIRED = InsuredPerson.EmploymentStatus.ACTIVE, InsuredPerson.EmploymentStatus.RETIRED


@pytest.fixture(autouse=True)
def now():
    return set_clock(TODAY)


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
    employee = enrol(city, 5)
    assert Account.objects.filter(person=before).exists()
    assert not Account.objects.filter(person=on_the_day).exists()
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


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Someone Else"},
        {"employment_status": RETIRED},
        {"scheme": RESIDENT, "employment_status": ""},
        {"city": "other"},
    ],
)
def test_the_same_number_with_other_data_is_already_enrolled(change):
    city = CityFactory()
    enrol(city)
    fields = {"name": "Chen Jing", "scheme": EMPLOYEE, "employment_status": ACTIVE, **change}
    if fields.get("city") == "other":
        fields["city"] = CityFactory()
    fields.setdefault("city", city)
    with refused(PersonErrorCode.ALREADY_ENROLLED):
        person_enrol(resident_id=number(11), **fields)
    assert InsuredPerson.objects.count() == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"scheme": EMPLOYEE, "employment_status": ""},
        {"scheme": EMPLOYEE, "employment_status": "SELF_EMPLOYED"},
        {
            "scheme": EMPLOYEE,
            "employment_status": ACTIVE,
            "subsidy_category": InsuredPerson.SubsidyCategory.DISABLED,
        },
        {"scheme": RESIDENT, "employment_status": ACTIVE},
        {"scheme": RESIDENT, "employment_status": "", "declared_wage": Decimal("5000.00")},
    ],
)
def test_fields_that_do_not_fit_the_scheme_are_refused(fields):
    with refused(PersonErrorCode.SCHEME_FIELDS_INVALID) as excinfo:
        person_enrol(resident_id=number(11), name="Chen Jing", city=CityFactory(), **fields)
    assert excinfo.value.errors
    assert not InsuredPerson.objects.exists()


def test_a_person_gets_a_login():
    person = enrol(CityFactory())
    user = person_login_create(person=person, username="chenjing", password="correct-horse")
    person.refresh_from_db()
    assert person.user_id == user.id
    assert user.check_password("correct-horse")


def refused_with(code_name: str):
    """A refusal named by its code (the codes below are not defined yet, see the xfails)."""
    return pytest.raises(ProblemError, match=f"^{code_name}:")


def test_a_second_login_for_a_person_is_refused():
    person = enrol(CityFactory())
    person_login_create(person=person, username="chenjing", password=None)
    with refused_with("LOGIN_EXISTS"):
        person_login_create(person=person, username="chenjing2", password=None)


def test_a_taken_username_is_refused_whatever_its_case():
    city = CityFactory()
    person_login_create(person=enrol(city), username="chenjing", password=None)
    with refused_with("USERNAME_TAKEN"):
        person_login_create(person=enrol(city, 13), username="ChenJing", password=None)
