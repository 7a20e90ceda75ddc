"""GB 11643 resident ID numbers: shape, birth date, ISO 7064 MOD 11-2 check character, and what
enrolment derives from them."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from accounts.tests.support import refused, set_clock
from cities.tests.factories import CityFactory
from persons.error_codes import PersonErrorCode
from persons.models import InsuredPerson, validate_resident_id
from persons.resident_id import InvalidResidentId, make_resident_id, parse_resident_id
from persons.services import person_create

TODAY = date(2026, 3, 16)


def mod11_2(first17: str) -> str:
    """ISO 7064 MOD 11-2 written from the standard's definition (not the project's table):
    the check value c makes sum(a_i * 2^(i-1)) + c = 1 (mod 11), positions counted from the right
    with the check character at position 1; 10 is written X."""
    total = sum(int(digit) * pow(2, 17 - index, 11) for index, digit in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def with_check(first17: str) -> str:
    return first17 + mod11_2(first17)


# --- Valid numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "birth", "sex"),
    [
        # The example given in GB 11643-1999 itself.
        ("11010519491231002X", date(1949, 12, 31), "F"),
        (with_check("44030419900101001"), date(1990, 1, 1), "M"),
        (with_check("31011520000229002"), date(2000, 2, 29), "F"),  # a leap day
        (with_check("65010219001231999"), date(1900, 12, 31), "M"),
        (with_check("35010020260316123"), TODAY, "M"),  # born today
    ],
)
def test_valid_numbers_are_parsed(number, birth, sex):
    parsed = parse_resident_id(number, today=TODAY)
    assert parsed.number == number
    assert parsed.division_code == number[:6]
    assert parsed.birth_date == birth
    assert parsed.sequence == number[14:17]
    assert parsed.sex == sex


def test_our_reference_check_agrees_with_the_standards_example():
    assert mod11_2("11010519491231002") == "X"


@pytest.mark.parametrize("sequence", range(0, 1000, 37))
def test_every_check_value_is_accepted_where_it_is_right(sequence):
    number = with_check(f"35020019870605{sequence:03d}")
    assert parse_resident_id(number, today=TODAY).number == number


def test_a_lower_case_x_and_surrounding_spaces_are_normalised():
    assert parse_resident_id(" 11010519491231002x\n", today=TODAY).number == "11010519491231002X"


@pytest.mark.parametrize("sequence", [1, 3, 5, 7, 9, 11, 101, 999])
def test_odd_sequences_are_men(sequence):
    assert parse_resident_id(with_check(f"11010519800101{sequence:03d}"), today=TODAY).sex == "M"


@pytest.mark.parametrize("sequence", [0, 2, 4, 6, 8, 10, 100, 998])
def test_even_sequences_are_women(sequence):
    assert parse_resident_id(with_check(f"11010519800101{sequence:03d}"), today=TODAY).sex == "F"


def test_the_sandbox_builder_makes_valid_numbers():
    for sequence in range(0, 1000, 111):
        number = make_resident_id("330100", date(1975, 8, 9), sequence)
        assert number == with_check(f"33010019750809{sequence:03d}")
        assert parse_resident_id(number, today=TODAY).birth_date == date(1975, 8, 9)


# --- Invalid numbers -----------------------------------------------------------------------------

VALID = "11010519491231002X"


@pytest.mark.parametrize(
    "number",
    [
        "",
        VALID[:17],  # 17 characters
        VALID + "1",  # 19 characters
        "110105491231002",  # the old 15-digit numbers
        VALID[:-1] + "XX",
    ],
    ids=["empty", "17", "19", "15-digit", "two-checks"],
)
def test_wrong_lengths_are_refused(number):
    with pytest.raises(InvalidResidentId):
        parse_resident_id(number, today=TODAY)


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231O02X",  # letter O for a zero
        "1101051949123100XX",  # X only as the check character
        "X10105194912310021",
        "01010519491231002X",  # division codes do not start with 0
        "110105-9491231002X",
        "110105 19491231002",
        "11010519491231002Y",
    ],
)
def test_wrong_characters_are_refused(number):
    with pytest.raises(InvalidResidentId):
        parse_resident_id(number, today=TODAY)


@pytest.mark.parametrize("value", [None, 11010519491231002, b"11010519491231002X"])
def test_non_strings_are_refused(value):
    with pytest.raises(InvalidResidentId):
        parse_resident_id(value, today=TODAY)


def _non_ascii(number: str, zero: str) -> str:
    """The number with every digit after the first written in another script's digits."""
    return number[0] + "".join(chr(ord(zero) + int(c)) if c.isdigit() else c for c in number[1:])


@pytest.mark.parametrize("zero", ["\uff10", "\u0660"], ids=["full-width", "arabic-indic"])
def test_digits_of_other_scripts_are_refused(zero):
    with pytest.raises(InvalidResidentId):
        parse_resident_id(_non_ascii(VALID, zero), today=TODAY)


@pytest.mark.parametrize(
    "birth",
    [
        "20230229",  # not a leap year
        "19000229",  # 1900 was not a leap year
        "19990230",
        "19990431",
        "19991301",
        "19990001",
        "19990100",
        "19990132",
    ],
)
def test_impossible_birth_dates_are_refused(birth):
    with pytest.raises(InvalidResidentId, match="does not exist"):
        parse_resident_id(with_check(f"110105{birth}002"), today=TODAY)


@pytest.mark.parametrize("birth", ["20260317", "20270101", "21000101"])
def test_future_birth_dates_are_refused(birth):
    with pytest.raises(InvalidResidentId, match="out of range"):
        parse_resident_id(with_check(f"110105{birth}002"), today=TODAY)


def test_birth_dates_before_1900_are_refused():
    with pytest.raises(InvalidResidentId, match="out of range"):
        parse_resident_id(with_check("11010518991231002"), today=TODAY)


def test_the_future_is_judged_against_the_given_day():
    number = with_check("11010520260316002")
    with pytest.raises(InvalidResidentId):
        parse_resident_id(number, today=date(2026, 3, 15))
    assert parse_resident_id(number, today=date(2026, 3, 16)).birth_date == date(2026, 3, 16)


@pytest.mark.parametrize("first17", ["11010519491231002", "44030419900101001", "35020019870605123"])
def test_every_wrong_check_character_is_refused(first17):
    right = mod11_2(first17)
    for wrong in "0123456789X":
        if wrong == right:
            continue
        with pytest.raises(InvalidResidentId, match="check character"):
            parse_resident_id(first17 + wrong, today=TODAY)


def test_swapped_digits_are_caught_by_the_check():
    swapped = VALID[:12] + VALID[13] + VALID[12] + VALID[14:]  # ...1231... -> ...1213...
    with pytest.raises(InvalidResidentId):
        parse_resident_id(swapped, today=TODAY)


def test_the_model_validator_refuses_invalid_numbers():
    validate_resident_id(VALID)
    with pytest.raises(ValidationError) as excinfo:
        validate_resident_id(VALID[:-1] + "1")
    assert excinfo.value.error_list[0].code == "invalid_resident_id"


# --- What enrolment derives from the number ----------------------------------------------------


@pytest.mark.django_db
def test_enrolment_takes_sex_and_birth_date_from_the_number():
    set_clock(TODAY)
    city = CityFactory()
    woman, _ = person_create(
        resident_id="11010519491231002x",
        name="Wang Fang",
        city=city,
        scheme=InsuredPerson.Scheme.EMPLOYEE,
        employment_status=InsuredPerson.EmploymentStatus.RETIRED,
    )
    assert (woman.resident_id, woman.sex, woman.birth_date) == (
        "11010519491231002X",
        InsuredPerson.Sex.FEMALE,
        date(1949, 12, 31),
    )
    man, _ = person_create(
        resident_id=with_check("44030419900101001"),
        name="Li Wei",
        city=city,
        scheme=InsuredPerson.Scheme.RESIDENT,
    )
    assert (man.sex, man.birth_date) == (InsuredPerson.Sex.MALE, date(1990, 1, 1))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "number", ["11010519491231002Y", "110105194912310021", "11010520270101002X"]
)
def test_enrolment_refuses_an_invalid_number_with_a_field_error(number):
    set_clock(TODAY)
    with refused(PersonErrorCode.RESIDENT_ID_INVALID) as excinfo:
        person_create(
            resident_id=number,
            name="Nobody",
            city=CityFactory(),
            scheme=InsuredPerson.Scheme.RESIDENT,
        )
    assert [error["field"] for error in excinfo.value.errors] == ["resident_id"]
    assert not InsuredPerson.objects.exists()


@pytest.mark.django_db
def test_enrolment_judges_the_future_by_the_simulated_clock():
    set_clock(date(2026, 1, 1))
    newborn = with_check("11010520260201002")
    with refused(PersonErrorCode.RESIDENT_ID_INVALID):
        person_create(
            resident_id=newborn,
            name="Baby",
            city=CityFactory(),
            scheme=InsuredPerson.Scheme.RESIDENT,
        )
    set_clock(date(2026, 2, 2))
    person, _ = person_create(
        resident_id=newborn, name="Baby", city=CityFactory(), scheme=InsuredPerson.Scheme.RESIDENT
    )
    assert person.birth_date == date(2026, 2, 1)
