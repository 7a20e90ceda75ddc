"""Reading a transaction's ``input``: its fields, each checked, every error reported at once.

The national platform sends a transaction's fields inside ``input.data`` (or a named object such
as ``input.signIn``); a client that sends them directly in ``input`` is read the same way.
"""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from common.errors import DomainError, field_error
from fsi.error_codes import FsiErrorCode
from fsi.registry import Call


class InputReader:
    """Reads fields of one object of the input; ``done()`` refuses with every error found."""

    def __init__(self, call: Call, member: str = "data") -> None:
        nested = call.input.get(member)
        self.data: dict = nested if isinstance(nested, dict) else call.input
        self.prefix = f"input.{member}." if isinstance(nested, dict) else "input."
        self.errors: list[dict[str, str]] = []

    def error(self, name: str, message: str, code: str = "invalid") -> None:
        self.errors.append(field_error(self.prefix + name, message, code))

    def text(self, name: str, *, required: bool = False, longest: int = 100, choices=None) -> str:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self.error(name, "This field is required.", "required")
            return ""
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # codes sent as numbers are read as their digits
        if not isinstance(value, str):
            self.error(name, "Must be a string.", "type")
            return ""
        value = value.strip()
        if len(value) > longest:
            self.error(name, f"At most {longest} characters.", "max_length")
            return ""
        if choices is not None and value not in choices:
            self.error(name, f"One of {', '.join(sorted(choices))}.", "invalid_choice")
            return ""
        return value

    def amount(self, name: str, *, required: bool = False) -> Decimal | None:
        """A sum of money: a number or a string, at most two places, 0 to 10^13."""
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self.error(name, "This field is required.", "required")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.error(name, "Must be an amount, such as 12.30.", "type")
            return None
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            self.error(name, "Must be an amount, such as 12.30.", "invalid")
            return None
        if not amount.is_finite() or not Decimal(0) <= amount < Decimal(10) ** 13:
            self.error(name, "Between 0 and 9999999999999.99.", "invalid")
            return None
        if amount != amount.quantize(Decimal("0.01")):
            self.error(name, "At most two decimal places.", "invalid")
            return None
        return amount.quantize(Decimal("0.01"))

    def count(self, name: str, *, required: bool = False) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self.error(name, "This field is required.", "required")
            return None
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
            self.error(name, "A whole number from 0.", "invalid")
            return None
        return value

    def day(self, name: str, *, required: bool = False) -> date | None:
        """A date as yyyy-MM-dd (a time after it is ignored)."""
        value = self.text(name, required=required, longest=19)
        if not value:
            return None
        try:
            return datetime.strptime(value[:10], "%Y-%m-%d").date()
        except ValueError:
            self.error(name, "A date, yyyy-MM-dd.", "invalid")
            return None

    def done(self) -> None:
        if self.errors:
            raise DomainError(
                FsiErrorCode.INPUT_INVALID,
                "Some input fields are invalid; see errors.",
                errors=self.errors,
            )


def present(value: Any) -> bool:
    return value is not None and value != ""
