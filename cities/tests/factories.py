import factory

from cities.models import City
from cities.services import city_create


class CityFactory(factory.django.DjangoModelFactory):
    """A city with its accounts, through the service that creates them."""

    class Meta:
        model = City

    code = factory.Sequence(lambda n: f"{310100 + n * 100}"[:6])
    name = factory.Sequence(lambda n: f"Test City {n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return city_create(**kwargs)
