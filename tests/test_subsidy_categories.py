"""Subsidy categories are checked against what qualifies for them (Social Insurance Law art. 25):
the scheme (residents only) and the age on the day the category is recorded, through the
enrolment API and the console's form alike, with a 422 problem and a stable code."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from cities.tests.factories import CityFactory
from common import clock
from persons.models import InsuredPerson
from persons.resident_id import make_resident_id
from persons.subsidy import age_on, subsidy_category_refusal
from persons.tests.factories import ResidentFactory
from tests.support import client_for, set_clock
from users.tests.factories import OperatorFactory

C = InsuredPerson.SubsidyCategory
TODAY = date(2026, 11, 2)


def years_before(years: int, *, days: int = 0) -> date:
    from datetime import timedelta

    return TODAY.replace(year=TODAY.year - years) + timedelta(days=days)


@pytest.mark.parametrize(
    ("category", "born", "qualifies"),
    [
        (C.NONE, years_before(5), True),
        (C.MINIMUM_LIVING, years_before(5), True),
        (C.MINIMUM_LIVING, years_before(70), True),
        (C.LOW_INCOME_ELDERLY, years_before(60), True),  # 60 today
        (C.LOW_INCOME_ELDERLY, years_before(60, days=1), False),  # 60 tomorrow
        (C.LOW_INCOME_MINOR, years_before(18, days=1), True),  # 18 tomorrow
        (C.LOW_INCOME_MINOR, years_before(18), False),  # 18 today
        (C.DISABLED, years_before(16), True),
        (C.DISABLED, years_before(16, days=1), False),
    ],
)
def test_the_rule_by_age_on_the_day(category, born, qualifies):
    refusal = subsidy_category_refusal(
        category, scheme=InsuredPerson.Scheme.RESIDENT, birth_date=born, on=TODAY
    )
    assert (refusal is None) is qualifies
    if refusal:
        assert f"on {TODAY:%Y-%m-%d}" in refusal


def test_employees_have_no_category_and_a_leap_day_birthday_counts_from_1_march():
    refusal = subsidy_category_refusal(
        C.MINIMUM_LIVING, scheme=InsuredPerson.Scheme.EMPLOYEE, birth_date=TODAY, on=TODAY
    )
    assert refusal == "Subsidy categories apply to residents only."
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


@pytest.mark.django_db
class TestThroughTheApi:
    @pytest.fixture(autouse=True)
    def _world(self):
        from datetime import datetime, time

        from tests.support import SHANGHAI

        set_clock(datetime.combine(TODAY, time(9), tzinfo=SHANGHAI))
        self.city = CityFactory()
        self.operator = client_for(OperatorFactory(cities=[self.city]))

    def enrol(self, category: str, born: date, sequence: int = 11):
        return self.operator.post(
            "/api/v1/persons",
            {
                "resident_id": make_resident_id(self.city.code, born, sequence),
                "name": "Zhao Min",
                "city": self.city.code,
                "scheme": "RESIDENT",
                "subsidy_category": category,
            },
            format="json",
        )

    @pytest.mark.parametrize(
        ("category", "born", "says"),
        [
            (C.LOW_INCOME_ELDERLY, date(1990, 5, 1), "60 or more; the person is 36"),
            (C.LOW_INCOME_MINOR, date(2000, 5, 1), "under 18; the person is 26"),
            (C.DISABLED, date(2016, 5, 1), "working age (16 or more); the person is 10"),
        ],
    )
    def test_a_category_the_person_does_not_qualify_for_is_refused(self, category, born, says):
        refused = self.enrol(category, born)
        assert refused.status_code == 422
        problem = refused.json()
        assert problem["code"] == "SUBSIDY_CATEGORY_NOT_QUALIFIED"
        assert says in problem["detail"]
        assert problem["errors"][0]["field"] == "subsidy_category"
        assert problem["errors"][0]["code"] == "not_qualified"
        assert not InsuredPerson.objects.filter(name="Zhao Min").exists()

    @pytest.mark.parametrize(
        ("category", "born"),
        [
            (C.LOW_INCOME_ELDERLY, date(1950, 5, 1)),
            (C.LOW_INCOME_MINOR, date(2016, 5, 1)),
            (C.DISABLED, date(1980, 5, 1)),
            (C.MINIMUM_LIVING, date(2020, 5, 1)),
        ],
    )
    def test_a_category_the_person_qualifies_for_is_recorded(self, category, born):
        enrolled = self.enrol(category, born)
        assert enrolled.status_code == 201, enrolled.content
        assert enrolled.json()["subsidy_category"] == category

    def test_the_console_form_checks_the_same_rule(self):
        person = ResidentFactory(
            city=self.city,
            resident_id=make_resident_id(self.city.code, date(2016, 5, 1), 21),
            subsidy_category=C.LOW_INCOME_MINOR,
        )
        person.subsidy_category = C.LOW_INCOME_ELDERLY
        with pytest.raises(ValidationError) as refused:
            person.full_clean()
        assert "60 or more" in str(refused.value.message_dict["subsidy_category"])
        person.subsidy_category = C.MINIMUM_LIVING
        person.full_clean()
        assert clock.today() == TODAY
