import factory

from employers.credit_code import make_credit_code
from employers.models import Employer
from employers.services import employer_register


class EmployerFactory(factory.django.DjangoModelFactory):
    """A registered employer, through the service, with a valid unified social credit code."""

    class Meta:
        model = Employer

    name = factory.Sequence(lambda n: f"Employer {n} Co., Ltd.")
    city = factory.SubFactory("cities.tests.factories.CityFactory")
    credit_code = factory.LazyAttributeSequence(
        lambda o, n: make_credit_code(o.city.code, f"{n:08d}1")
    )

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return employer_register(**kwargs)
