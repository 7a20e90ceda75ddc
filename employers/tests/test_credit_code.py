"""The unified social credit code (GB 32100-2015): shape and MOD 31 check character."""

import pytest

from employers.credit_code import (
    ALPHABET,
    WEIGHTS,
    CreditCodeError,
    credit_code_check_character,
    credit_code_parse,
    make_credit_code,
)

# Codes published by the registrants themselves.
PUBLISHED = ["91350100M000100Y43", "91110000600037341L", "91440300708461136T"]


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_pass(code):
    assert credit_code_parse(code.lower()) == code


def test_the_weights_are_the_standards():
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert len(ALPHABET) == 31 and not set("IOSVZ") & set(ALPHABET)


@pytest.mark.parametrize("code", PUBLISHED)
def test_any_other_check_character_fails(code):
    for char in ALPHABET:
        if char != code[-1]:
            with pytest.raises(CreditCodeError, match="check character"):
                credit_code_parse(code[:17] + char)


def test_a_changed_character_is_caught():
    code = PUBLISHED[0]
    changed = code[:10] + ("1" if code[10] != "1" else "2") + code[11:]
    with pytest.raises(CreditCodeError):
        credit_code_parse(changed)


@pytest.mark.parametrize(
    "code",
    ["", "91350100M000100Y4", "91350100M000100Y433", "9135010OM000100Y43", "91AB0100M000100Y43"],
)
def test_malformed_codes_fail(code):
    with pytest.raises(CreditCodeError):
        credit_code_parse(code)


def test_made_codes_are_valid_and_a_check_of_zero_is_0():
    for organisation in ("000000001", "MA0000001", "123456789"):
        code = make_credit_code("330100", organisation)
        assert credit_code_parse(code) == code
    # (31 - 0) mod 31 = 0: a sum that is a multiple of 31 gives "0", not a 32nd character.
    assert credit_code_check_character("0" * 17) == "0"
