"""Flows that create a record together with what it needs in the apps below: each is one
transaction and idempotent, like the record services it calls."""

from django.db import transaction

from accounts.services import city_accounts_open, personal_account_open
from cards.models import EVoucher
from cities.models import City
from cities.services import city_create
from persons.models import InsuredPerson
from persons.services import person_create
from settlement.services import benefit_policy_ensure


def city_provision(*, code: str, name: str, by=None, **settings) -> City:
    """Create a city with its pooled, outpatient, clearing and source accounts and its benefit
    policy, so that reading the city's policy never has to create it (idempotent on code; an
    existing city gets whichever of them it lacks)."""
    with transaction.atomic():
        city = city_create(code=code, name=name, by=by, **settings)
        city_accounts_open(city=city)
        benefit_policy_ensure(city=city)
        return city


def person_enrol(*, city: City, by=None, **person_fields) -> InsuredPerson:
    """Enrol a person in a city's scheme: the person (``persons.services.person_create`` takes
    ``person_fields`` and checks them), their (not yet activated) e-voucher and, for employees and
    for residents where resident accounts still exist, a personal account at zero. Enrolling the
    same ID number again with the same data returns the first enrolment and creates nothing."""
    with transaction.atomic():
        person, created = person_create(city=city, by=by, **person_fields)
        if created:
            EVoucher.objects.create(person=person)
            if person.scheme == InsuredPerson.Scheme.EMPLOYEE or not (
                city.resident_accounts_abolished_by(person.enrolled_on)
            ):
                personal_account_open(person=person)
        return person
