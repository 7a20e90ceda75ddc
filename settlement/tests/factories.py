import factory

from accounts.services import institution_account_open
from settlement.models import Institution


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Institution

    code = factory.Sequence(lambda n: f"H{n:06d}")
    name = factory.Sequence(lambda n: f"Designated Hospital {n}")
    kind = Institution.Kind.HOSPITAL
    level = 3
    city = factory.SubFactory("cities.tests.factories.CityFactory")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        institution = super()._create(model_class, *args, **kwargs)
        institution_account_open(institution=institution)
        return institution


class PharmacyFactory(InstitutionFactory):
    code = factory.Sequence(lambda n: f"P{n:06d}")
    name = factory.Sequence(lambda n: f"Designated Pharmacy {n}")
    kind = Institution.Kind.PHARMACY
    level = None
