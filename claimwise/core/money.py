"""Money is Decimal with a currency; amounts round half-up to cents at defined points."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models
from django.utils.translation import gettext_lazy as _

CENT = Decimal("0.01")
CURRENCIES = [("CNY", _("Chinese yuan")), ("HKD", _("Hong Kong dollar")), ("USD", _("US dollar")), ("EUR", _("Euro"))]


def to_money(value: object) -> Decimal:
    """Round half-up to cents. Floats are refused: they cannot hold cents exactly."""
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    try:
        return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc


class MoneyField(models.DecimalField):
    """A Decimal with two places, wide enough for any claim (up to 10^13)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max_digits", 15)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


class CurrencyField(models.CharField):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("choices", CURRENCIES)
        kwargs.setdefault("default", "CNY")
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
