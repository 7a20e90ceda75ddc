"""Money: Decimal with two places, CNY, everywhere."""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

CURRENCY = "CNY"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_DIGITS = 14  # up to 999,999,999,999.99 CNY


def money(value: Decimal | int | str) -> Decimal:
    """Round half up to the cent (the rounding Chinese social-insurance agencies use)."""
    try:
        return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount of money: {value!r}") from exc


class MoneyField(models.DecimalField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DecimalField", args, kwargs


# What an amount looks like on the wire, published in the OpenAPI schema and enforced as
# published: ASCII digits, at most two places. Python's Decimal() alone would also take "1e2",
# "1_000", " 5 " and other scripts' digits.
MONEY_PATTERN = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$"
NON_NEGATIVE_MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
# A line's quantity: up to 9,999,999.999, ASCII digits, no sign (it is above zero).
QUANTITY_PATTERN = r"^[0-9]{1,7}(\.[0-9]{1,3})?$"


class PatternDecimalSerializerField(serializers.DecimalField):
    """A decimal string that must match ``pattern`` before Decimal() reads it (a JSON integer is
    taken too): exponents, separators, other scripts' digits, floats, NaN and infinity are
    refused. The OpenAPI schema publishes the same pattern. A minus sign is read here even where
    the pattern has none, so that ``min_value`` says what is wrong with a negative value."""

    example = "1"

    @property
    def pattern(self) -> str:
        raise NotImplementedError

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int | Decimal):
            self.fail("invalid")
        if isinstance(data, Decimal):
            # From Python code (an admin form, a task argument), not from the wire.
            data = format(data, "f") if data.is_finite() else "NaN"
        text = str(data)
        if not re.fullmatch(self.pattern, text.removeprefix("-")):
            self.fail("invalid")
        return super().to_internal_value(text)


class MoneySerializerField(PatternDecimalSerializerField):
    """An amount in CNY: a decimal string matching MONEY_PATTERN."""

    default_error_messages = {
        "invalid": _('Send an amount as a decimal string, like "12.50".'),
    }
    example = "12.50"

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("coerce_to_string", True)
        super().__init__(**kwargs)

    @property
    def pattern(self) -> str:
        if self.min_value is not None and self.min_value >= 0:
            return NON_NEGATIVE_MONEY_PATTERN
        return MONEY_PATTERN


class QuantitySerializerField(PatternDecimalSerializerField):
    """A quantity of a line (pieces, doses, days): above zero, at most three places, matching
    QUANTITY_PATTERN."""

    default_error_messages = {
        "invalid": _('Send a quantity as a decimal string, like "2" or "0.5".'),
    }
    example = "2"

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 10)
        kwargs.setdefault("decimal_places", 3)
        kwargs.setdefault("min_value", Decimal("0.001"))
        super().__init__(**kwargs)

    @property
    def pattern(self) -> str:
        return QUANTITY_PATTERN


class NonNegativeMoneySerializerField(MoneySerializerField):
    """An amount that may not be below zero (a policy figure, a price, a wage)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", ZERO)
        super().__init__(**kwargs)


class PatternDecimalFieldExtension(OpenApiSerializerFieldExtension):
    """Publishes the pattern the field enforces (drf-spectacular's default would allow "" and
    "-.")."""

    target_class = PatternDecimalSerializerField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        return {
            "type": "string",
            "format": "decimal",
            "pattern": self.target.pattern,
            "example": self.target.example,
        }
