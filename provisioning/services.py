"""Flows that create a record together with what it needs in the apps below: each is one
transaction and idempotent, like the record services it calls."""

from django.db import transaction

from accounts.services import (
    city_accounts_open,
    institution_account_open,
    personal_account_open,
)
from cards.models import EVoucher
from cities.models import City
from cities.services import city_create
from institutions.models import Institution
from institutions.services import institution_create
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


def institution_register(
    *,
    code: str,
    name: str,
    kind: str,
    city: City,
    level: int | None = None,
    is_designated: bool = True,
    by=None,
) -> Institution:
    """Register a designated hospital or pharmacy with its ledger account and its city's benefit
    policy (idempotent on code)."""
    with transaction.atomic():
        institution = institution_create(
            code=code,
            name=name,
            kind=kind,
            city=city,
            level=level,
            is_designated=is_designated,
            by=by,
        )
        institution_provision(institution=institution)
        return institution


def institution_provision(*, institution: Institution) -> None:
    """What a saved institution needs to settle: its ledger account and its city's policy."""
    institution_account_open(institution=institution)
    benefit_policy_ensure(city=institution.city)
