"""Writes about cities."""

from django.db import transaction

from cities.models import City
from common.audit import acting_user


def city_create(*, code: str, name: str, by=None, **settings) -> City:
    """Create the city record alone (idempotent on code: an existing city is returned as it is).
    A city that will be used needs its accounts and benefit policy too:
    ``provisioning.services.city_provision`` creates all of them."""
    with transaction.atomic():
        city = City.objects.filter(code=code).first()
        if city is None:
            city = City(code=code, name=name, **settings)
            city.full_clean()
            city._history_user = acting_user(by)
            city.save()
        return city


def city_set_switches(*, city: City, by=None, **switches) -> City:
    """Change a city's switches or figures; every change is kept in its history."""
    with transaction.atomic():
        city = City.objects.select_for_update(no_key=True).get(pk=city.pk)
        for field, value in switches.items():
            setattr(city, field, value)
        city.full_clean()
        city._history_user = acting_user(by)
        city.save()
        return city
