"""Writes about cities."""

from django.db import transaction

from accounts.services import city_accounts_open
from cities.models import City
from common.audit import acting_user
from settlement.services import benefit_policy_ensure


def city_create(*, code: str, name: str, by=None, **settings) -> City:
    """Create a city with its pooled, outpatient, clearing and source accounts and its benefit
    policy, so that reading the city's policy never has to create it (idempotent on code)."""
    with transaction.atomic():
        city = City.objects.filter(code=code).first()
        if city is None:
            city = City(code=code, name=name, **settings)
            city.full_clean()
            city._history_user = acting_user(by)
            city.save()
        city_accounts_open(city=city)
        benefit_policy_ensure(city=city)
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
