"""Who qualifies for a resident subsidy category (Social Insurance Law art. 25: the government
subsidises residents on the minimum living guarantee, disabled people who have lost the ability to
work, and people over 60 and minors in low-income families). A pure rule: the caller passes the day.

The ages are whole years on that day: "over 60" is 60 or more, a minor is under 18, and having
lost the ability to work presumes working age, 16 or more (the Labour Law's minimum working age).
The minimum living guarantee has no age condition. Every category is for residents only.
"""

from datetime import date

from persons.models import InsuredPerson

Category = InsuredPerson.SubsidyCategory

ELDERLY_FROM_AGE = 60
ADULT_FROM_AGE = 18
WORKING_FROM_AGE = 16


def age_on(birth_date: date, day: date) -> int:
    """Whole years of age on ``day`` (a 29 February birthday falls on 1 March in other years)."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - (1 if before_birthday else 0)


def subsidy_category_refusal(
    category: str, *, scheme: str, birth_date: date, on: date
) -> str | None:
    """Why a person of this scheme and birth date does not qualify for ``category`` on ``on``;
    None when they do (or no category is claimed)."""
    if category == Category.NONE:
        return None
    if scheme != InsuredPerson.Scheme.RESIDENT:
        return "Subsidy categories apply to residents only."
    age = age_on(birth_date, on)
    if category == Category.LOW_INCOME_ELDERLY and age < ELDERLY_FROM_AGE:
        return (
            f"Over 60 in a low-income family needs an age of {ELDERLY_FROM_AGE} or more; "
            f"the person is {age} on {on:%Y-%m-%d}."
        )
    if category == Category.LOW_INCOME_MINOR and age >= ADULT_FROM_AGE:
        return (
            f"Minor in a low-income family needs an age under {ADULT_FROM_AGE}; "
            f"the person is {age} on {on:%Y-%m-%d}."
        )
    if category == Category.DISABLED and age < WORKING_FROM_AGE:
        return (
            f"Disabled, lost the ability to work needs working age ({WORKING_FROM_AGE} or more); "
            f"the person is {age} on {on:%Y-%m-%d}. A disabled minor in a low-income family "
            "qualifies as a minor in a low-income family."
        )
    return None
