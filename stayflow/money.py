"""Money for people: integer minor units shown in their currency's own precision (Babel, CLDR).

Amounts are integers of the currency's minor unit everywhere (SPEC §3); only what a person reads
is formatted, here: `USD 1,234.50`, `-USD 361.50`, `JPY 1,234`, `KWD 12.345`. The ISO code rather
than a symbol keeps the text unambiguous (`$` is a dozen currencies) and printable by any PDF font.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision

_PATTERN = "¤¤\u00a0#,##0.00;-¤¤\u00a0#,##0.00"


def minor_digits(currency: str) -> int:
    """How many digits the currency's minor unit has (USD 2, JPY 0, KWD 3)."""
    return int(get_currency_precision(currency.upper()))


def to_major(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-minor_digits(currency))


def format_money(amount: int, currency: str, locale: str = "en_US") -> str:
    text = format_currency(to_major(amount, currency), currency.upper(), format=_PATTERN, locale=locale)
    return text.replace("\u00a0", " ")
