from datetime import date

import factory

from cities.models import City
from provisioning.services import city_provision


class CityFactory(factory.django.DjangoModelFactory):
    """A city with its accounts and benefit policy, through the flow that provisions them."""

    class Meta:
        model = City

    code = factory.Sequence(lambda n: f"{310100 + n * 100}"[:6])
    name = factory.Sequence(lambda n: f"Test City {n}")

    class Params:
        # The switches that produce each state of the reason catalogue.
        not_launched = factory.Trait(online_inquiry_launched=False)
        counter_only = factory.Trait(personal_account_shown_online=False)
        abolished = factory.Trait(resident_accounts_abolished_on=date(2021, 1, 1))
        no_channel = factory.Trait(has_public_upload_channel=False)
        busy = factory.Trait(platform_busy_forced=True)
        daily_uploads = factory.Trait(upload_frequency=City.UploadFrequency.DAILY)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return city_provision(**kwargs)
