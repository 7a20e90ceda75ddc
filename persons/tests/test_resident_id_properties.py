"""Property-based tests of the GB 11643 resident ID validator."""

from datetime import date, timedelta

from hypothesis import assume, given
from hypothesis import strategies as st

from persons.resident_id import (
    InvalidResidentId,
    check_character,
    make_resident_id,
    parse_resident_id,
)

TODAY = date(2026, 11, 23)
divisions = st.from_regex(r"[1-8][0-9]{5}", fullmatch=True)
birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)


@given(divisions, birth_dates, sequences)
def test_every_well_made_number_parses_back_to_its_parts(division, birth, sequence):
    number = make_resident_id(division, birth, sequence)
    parsed = parse_resident_id(number, today=TODAY)
    assert parsed.number == number
    assert parsed.division_code == division
    assert parsed.birth_date == birth
    assert parsed.sex == ("M" if sequence % 2 else "F")
    assert parse_resident_id(number.lower(), today=TODAY) == parsed  # a lower-case x is the same X


@given(divisions, birth_dates, sequences, st.sampled_from("0123456789X"))
def test_any_other_check_character_is_refused(division, birth, sequence, wrong):
    number = make_resident_id(division, birth, sequence)
    assume(wrong != number[-1])
    try:
        parse_resident_id(number[:-1] + wrong, today=TODAY)
    except InvalidResidentId:
        return
    raise AssertionError("a wrong check character was accepted")


@given(
    divisions,
    birth_dates,
    sequences,
    st.integers(min_value=0, max_value=16),
    st.integers(min_value=1, max_value=9),
)
def test_changing_any_one_digit_is_detected(division, birth, sequence, position, delta):
    """ISO 7064 MOD 11-2 catches every single-digit substitution."""
    number = make_resident_id(division, birth, sequence)
    digit = (int(number[position]) + delta) % 10
    altered = number[:position] + str(digit) + number[position + 1 :]
    assert check_character(altered[:17]) != number[17]


@given(
    st.one_of(
        st.none(),
        st.integers(),
        st.floats(allow_nan=True),
        st.binary(),
        st.text(max_size=40),
        st.lists(st.text()),
    )
)
def test_anything_else_is_refused_cleanly(value):
    assume(not (isinstance(value, str) and len(value.strip()) == 18))
    try:
        parse_resident_id(value, today=TODAY)
    except InvalidResidentId:
        return
    raise AssertionError(f"accepted {value!r}")


@given(
    divisions,
    st.dates(min_value=TODAY + timedelta(days=1), max_value=date(2099, 12, 31)),
    sequences,
)
def test_birth_dates_in_the_future_are_refused(division, birth, sequence):
    number = make_resident_id(division, birth, sequence)
    try:
        parse_resident_id(number, today=TODAY)
    except InvalidResidentId:
        return
    raise AssertionError("a future birth date was accepted")
