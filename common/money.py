"""Money: Decimal with two places, CNY, everywhere."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models
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


class MoneySerializerField(serializers.DecimalField):
    """A decimal string with exactly two places; more places, NaN or infinity are refused."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("coerce_to_string", True)
        super().__init__(**kwargs)
