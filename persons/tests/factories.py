from datetime import date
from decimal import Decimal

import factory

from persons.models import InsuredPerson
from persons.resident_id import make_resident_id
from provisioning.services import person_enrol


class PersonFactory(factory.django.DjangoModelFactory):
    """An enrolled person (with e-voucher and, where due, a personal account), through the service."""

    class Meta:
        model = InsuredPerson

    resident_id = factory.Sequence(lambda n: make_resident_id("110105", date(1985, 3, 1), n % 1000))
    name = factory.Sequence(lambda n: f"Person {n}")
    city = factory.SubFactory("cities.tests.factories.CityFactory")
    scheme = InsuredPerson.Scheme.EMPLOYEE
    employment_status = InsuredPerson.EmploymentStatus.ACTIVE
    declared_wage = Decimal("10000.00")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return person_enrol(**kwargs)


class RetireeFactory(PersonFactory):
    employment_status = InsuredPerson.EmploymentStatus.RETIRED
    declared_wage = None


class ResidentFactory(PersonFactory):
    scheme = InsuredPerson.Scheme.RESIDENT
    employment_status = ""
    declared_wage = None
