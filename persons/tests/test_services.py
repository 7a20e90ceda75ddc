"""The insured person's record: checked, created once, refused with other data; logins. (Enrolment
with the e-voucher and the personal account: provisioning/tests/test_services.py.)"""

from datetime import date
from decimal import Decimal

import pytest

from accounts.models import Account
from accounts.tests.support import refused, set_clock
from cards.models import EVoucher
from cities.tests.factories import CityFactory
from common.errors import DomainError
from persons.error_codes import PersonErrorCode
from persons.models import InsuredPerson
from persons.resident_id import make_resident_id
from persons.services import person_create, person_login_create

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 16)
EMPLOYEE, RESIDENT = InsuredPerson.Scheme.EMPLOYEE, InsuredPerson.Scheme.RESIDENT
ACTIVE, RETIRED = InsuredPerson.EmploymentStatus.ACTIVE, InsuredPerson.EmploymentStatus.RETIRED


@pytest.fixture(autouse=True)
def now():
    return set_clock(TODAY)


def number(sequence: int) -> str:
    return make_resident_id("350100", date(1980, 7, 1), sequence)


def create(city, sequence=11, **fields):
    fields.setdefault("scheme", EMPLOYEE)
    fields.setdefault("employment_status", ACTIVE if fields["scheme"] == EMPLOYEE else "")
    return person_create(resident_id=number(sequence), name="Chen Jing", city=city, **fields)


def a_person(city, sequence=11, **fields):
    person, _ = create(city, sequence, **fields)
    return person


@pytest.mark.parametrize(
    ("scheme", "status"), [(EMPLOYEE, ACTIVE), (EMPLOYEE, RETIRED), (RESIDENT, "")]
)
def test_the_record_is_created_alone(scheme, status):
    city = CityFactory()
    person, created = create(city, scheme=scheme, employment_status=status)
    assert created
    assert (person.city_id, person.scheme, person.employment_status, person.enrolled_on) == (
        city.id,
        scheme,
        status,
        TODAY,
    )
    assert not EVoucher.objects.exists()
    assert not Account.objects.filter(person=person).exists()


def test_the_same_data_again_returns_the_first_record():
    city = CityFactory()
    first, _ = create(city, declared_wage=Decimal("9000.00"))
    again, created = create(city, declared_wage=Decimal("9000.00"))
    assert (again.pk, created) == (first.pk, False)
    assert InsuredPerson.objects.count() == 1


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
    a_person(city)
    fields = {"name": "Chen Jing", "scheme": EMPLOYEE, "employment_status": ACTIVE, **change}
    if fields.get("city") == "other":
        fields["city"] = CityFactory()
    fields.setdefault("city", city)
    with refused(PersonErrorCode.ALREADY_ENROLLED):
        person_create(resident_id=number(11), **fields)
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
        person_create(resident_id=number(11), name="Chen Jing", city=CityFactory(), **fields)
    assert excinfo.value.errors
    assert not InsuredPerson.objects.exists()


def test_a_person_gets_a_login():
    person = a_person(CityFactory())
    user = person_login_create(person=person, username="chenjing", password="correct-horse")
    person.refresh_from_db()
    assert person.user_id == user.id
    assert user.check_password("correct-horse")


def refused_with(code_name: str):
    """A refusal named by its code (the codes below are not defined yet, see the xfails)."""
    return pytest.raises(DomainError, match=f"^{code_name}:")


def test_a_second_login_for_a_person_is_refused():
    person = a_person(CityFactory())
    person_login_create(person=person, username="chenjing", password=None)
    with refused_with("LOGIN_EXISTS"):
        person_login_create(person=person, username="chenjing2", password=None)


def test_a_taken_username_is_refused_whatever_its_case():
    city = CityFactory()
    person_login_create(person=a_person(city), username="chenjing", password=None)
    with refused_with("USERNAME_TAKEN"):
        person_login_create(person=a_person(city, 13), username="ChenJing", password=None)
