"""The unified social credit code of an employer (GB 32100-2015).

Eighteen characters from 0-9 and the capital letters without I, O, S, V and Z: the registration
authority (1), the kind of entity (1), the 6-digit administrative division code, the 9-character
organisation code, and a check character. The check is MOD 31: the first 17 characters' values
weighted 3^i mod 31 (1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28), and the check is the value
(31 - sum mod 31) mod 31.
"""

import re

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, position, 31) for position in range(17))
_SHAPE = re.compile(rf"^[{ALPHABET}]{{2}}[0-9]{{6}}[{ALPHABET}]{{10}}$")


class CreditCodeError(ValueError):
    pass


def credit_code_check_character(first_17: str) -> str:
    total = sum(
        ALPHABET.index(char) * weight for char, weight in zip(first_17, WEIGHTS, strict=True)
    )
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_parse(value: str) -> str:
    """The code, upper-cased, when it is well formed and its check character matches."""
    code = (value or "").strip().upper()
    if len(code) != 18:
        raise CreditCodeError("A unified social credit code has 18 characters.")
    if not _SHAPE.match(code):
        raise CreditCodeError(
            "A unified social credit code uses digits and capital letters other than I, O, S, V "
            "and Z, with a 6-digit division code in places 3 to 8."
        )
    if credit_code_check_character(code[:17]) != code[17]:
        raise CreditCodeError("The check character of the unified social credit code is wrong.")
    return code


def make_credit_code(division_code: str, organisation: str) -> str:
    """A valid code for a company (91) registered in ``division_code``, with the 9-character
    organisation code ``organisation`` (sandbox and test data)."""
    first_17 = f"91{division_code}{organisation}"
    return first_17 + credit_code_check_character(first_17)
