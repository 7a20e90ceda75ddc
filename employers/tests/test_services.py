"""Registering employers, taking on employees, setting how an employer pays."""

from datetime import date
from decimal import Decimal

import pytest

from accounts.tests.support import refused
from cities.tests.factories import CityFactory
from employers.credit_code import make_credit_code
from employers.error_codes import EmployerErrorCode
from employers.models import Employer, Employment
from employers.services import (
    employer_employee_add,
    employer_payment_mode_set,
    employer_register,
)
from employers.tests.factories import EmployerFactory
from persons.tests.factories import PersonFactory, ResidentFactory, RetireeFactory

pytestmark = pytest.mark.django_db


def test_register_checks_the_code_and_answers_a_retry_with_the_same_employer():
    city = CityFactory()
    code = make_credit_code(city.code, "000000011")
    first = employer_register(name="Acme", credit_code=code.lower(), city=city)
    assert first.credit_code == code
    assert employer_register(name="Acme", credit_code=code, city=city) == first
    with refused(EmployerErrorCode.CREDIT_CODE_TAKEN):
        employer_register(name="Other", credit_code=code, city=city)
    with refused(EmployerErrorCode.CREDIT_CODE_INVALID):
        employer_register(
            name="Bad", credit_code=code[:17] + "0" if code[17] != "0" else "1", city=city
        )
    assert Employer.objects.count() == 1


def test_only_an_active_employee_of_the_city_is_taken_on_and_a_move_keeps_one_employer():
    employer = EmployerFactory()
    elsewhere = PersonFactory()
    for person in (
        RetireeFactory(city=employer.city),
        ResidentFactory(city=employer.city),
        elsewhere,
    ):
        with refused(EmployerErrorCode.EMPLOYEE_NOT_ELIGIBLE):
            employer_employee_add(employer=employer, person=person, started_on=date(2026, 1, 1))
    person = PersonFactory(city=employer.city)
    employer_employee_add(employer=employer, person=person, started_on=date(2026, 1, 1))
    employer_employee_add(employer=employer, person=person, started_on=date(2026, 1, 1))
    second = EmployerFactory(city=employer.city)
    employer_employee_add(employer=second, person=person, started_on=date(2026, 2, 1))
    assert list(Employment.objects.values_list("person_id", "employer_id")) == [
        (person.id, second.id)
    ]


@pytest.mark.parametrize(
    ("mode", "ratio"),
    [
        ("UNDERPAYING", None),
        ("UNDERPAYING", Decimal("1.00")),
        ("UNDERPAYING", Decimal("0.00")),
        ("PAYING", Decimal("0.50")),
        ("SOMETIMES", None),
    ],
)
def test_a_payment_mode_must_fit_its_ratio(mode, ratio):
    employer = EmployerFactory()
    with refused(EmployerErrorCode.PAYMENT_MODE_INVALID):
        employer_payment_mode_set(employer=employer, mode=mode, paid_base_ratio=ratio)


def test_the_mode_is_set():
    employer = EmployerFactory()
    employer_payment_mode_set(employer=employer, mode="UNDERPAYING", paid_base_ratio=Decimal("0.6"))
    employer.refresh_from_db()
    assert (employer.payment_mode, employer.paid_base_ratio) == ("UNDERPAYING", Decimal("0.60"))
