import random

import pytest

from common import clock
from persons.models import InsuredPerson
from persons.resident_id import parse_resident_id
from sandbox.names import MEN_GIVEN_NAMES, WOMEN_GIVEN_NAMES
from sandbox.scenarios import SCENARIOS, build_person
from tests.support import MONDAY_MORNING, set_clock

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("code", sorted(SCENARIOS))
def test_a_scenario_person_is_of_an_age_that_fits_their_situation(code, agreement):
    set_clock(MONDAY_MORNING)
    for seed in range(3):
        person = build_person(SCENARIOS[code].spec, rng=random.Random(f"{code}:{seed}")).person
        birth = parse_resident_id(person.resident_id).birth_date
        age = (clock.today() - birth).days // 365
        if person.employment_status == InsuredPerson.EmploymentStatus.RETIRED:
            assert age >= 60, (code, birth)
        elif person.employment_status == InsuredPerson.EmploymentStatus.ACTIVE:
            assert 18 <= age <= 60, (code, birth)
        else:
            assert 0 <= age <= 90, (code, birth)


def given_name_sex(name: str) -> str | None:
    """ "M" or "F" for a given name that is a man's or a woman's, None for either's."""
    for names, sex in ((MEN_GIVEN_NAMES, "M"), (WOMEN_GIVEN_NAMES, "F")):
        if any(name.endswith(given) for given, _ in names):
            return sex
    return None


def test_a_scenario_persons_name_fits_the_sex_of_their_id(agreement):
    set_clock(MONDAY_MORNING)
    spec = SCENARIOS["BALANCE_VISIBLE"].spec
    persons = [build_person(spec, rng=random.Random(seed)).person for seed in range(12)]
    assert {person.sex for person in persons} == {"M", "F"}
    for person in persons:
        assert given_name_sex(person.name) in (person.sex, None), (person.name, person.sex)
