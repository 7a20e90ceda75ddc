"""GB 11643 resident ID numbers: 6-digit division code, 8-digit birth date, 3-digit sequence
(odd for men, even for women) and an ISO 7064 MOD 11-2 check character."""

import re
from dataclasses import dataclass
from datetime import date

from django.utils import timezone

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"
_SHAPE = re.compile(r"[1-9][0-9]{16}[0-9X]")


class InvalidResidentId(ValueError):
    pass


@dataclass(frozen=True)
class ResidentId:
    number: str
    division_code: str
    birth_date: date
    sequence: str

    @property
    def sex(self) -> str:
        return "M" if int(self.sequence[-1]) % 2 else "F"


def check_character(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[total % 11]


def normalize_resident_id(value: str) -> str:
    """As stored: no surrounding spaces, an upper-case check character X."""
    return value.strip().upper()


def parse_resident_id(value: object, *, today: date | None = None) -> ResidentId:
    if not isinstance(value, str):
        raise InvalidResidentId("A resident ID number is a string of 18 characters.")
    number = normalize_resident_id(value)
    if not _SHAPE.fullmatch(number):
        raise InvalidResidentId("A resident ID number has 17 digits and a check digit or X.")
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidResidentId(
            "The birth date in the resident ID number does not exist."
        ) from None
    if birth.year < 1900 or birth > (today or timezone.localdate()):
        raise InvalidResidentId("The birth date in the resident ID number is out of range.")
    if check_character(number[:17]) != number[17]:
        raise InvalidResidentId("The check character of the resident ID number is wrong.")
    return ResidentId(
        number=number, division_code=number[:6], birth_date=birth, sequence=number[14:17]
    )


def make_resident_id(division_code: str, birth_date: date, sequence: int) -> str:
    """Build a valid number (for the sandbox and the demo world)."""
    first17 = f"{division_code}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)
