"""Prices with their currency, as market pages write them.

Public API:

* :func:`parse_price` -> :class:`Price` or None: the first price in a short
  text ("$120.50", "120 USD", "0.0021 BTC", "€95", "1.234,56 €", "0.35 XMR",
  "5 000 руб.").
* :func:`find_prices` -> list of :class:`Price`: every price in a longer text,
  in order of appearance.
* :func:`parse_amount` -> float or None: a bare number in either decimal
  convention ("1,234.56", "1.234,56", "12,5", "5 000").
* :func:`normalise_currency` -> an upper-case code ("USD", "EUR", "BTC") or None.
* :data:`CRYPTO_CURRENCIES` -- the tickers treated as crypto prices (the index
  schema's :data:`config.schema.CRYPTO_TICKERS`, upper case).
* :func:`currency_words`, :func:`currency_signs` -- the codes and signs known.

Pure functions; they never raise on odd input, they return None or [].

Decimal-separator rule (documented because "1,234" is ambiguous): when both
"," and "." occur, the last one is the decimal separator; a lone "," followed
by exactly three digits is a thousands separator unless the integer part is 0
("0,375" is a decimal); any other lone "," or "." is the decimal separator;
spaces (including no-break and thin spaces) and apostrophes group thousands.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from config.coins import PRICE_SYMBOLS, PRICE_WORDS
from config.schema import CRYPTO_TICKERS

# Codes written after or before the amount ("120 USD", "USD 120").  Longer
# aliases come first in the regex so "USDT" never reads as "USD" + "T".
_CURRENCY_ALIASES: dict[str, str] = {
    "usd": "USD", "us$": "USD", "dollar": "USD", "dollars": "USD",
    "eur": "EUR", "euro": "EUR", "euros": "EUR",
    "gbp": "GBP", "pound": "GBP", "pounds": "GBP",
    "cad": "CAD", "aud": "AUD", "chf": "CHF", "sek": "SEK", "nok": "NOK",
    "dkk": "DKK", "pln": "PLN", "zł": "PLN", "czk": "CZK", "uah": "UAH",
    "rub": "RUB", "руб": "RUB", "рублей": "RUB", "рубля": "RUB", "рубль": "RUB", "р": "RUB",
    # Coins: the words of the one coin table (config.coins).
    **PRICE_WORDS,
}
_CURRENCY_SYMBOLS: dict[str, str] = {
    "$": "USD", "€": "EUR", "£": "GBP", "₽": "RUB",
    "₴": "UAH", "¥": "JPY", "₺": "TRY",
    **PRICE_SYMBOLS,
}

# The coin tickers of the index schema, in the upper case prices are written in.
CRYPTO_CURRENCIES = frozenset(ticker.upper() for ticker in CRYPTO_TICKERS)

# Amounts larger than this are not prices but IDs, phone numbers or noise.
_MAX_AMOUNT = 1e12
_GROUP_SPACES = "\u00a0\u2009\u202f '"

# A number never starts or stops in the middle of digits: "$0.0021" is not "$0.002" + "1",
# and "1234 USD" is not "234 USD".  Both rules also keep the scan linear: without the
# start rule a run of n digits is retried from each of its n positions (quadratic), and
# the thousands groups are bounded for the same reason after a separator.  Nine or more
# groups are over _MAX_AMOUNT anyway.
_NUMBER = (
    r"(?<![\d])(?:\d{1,3}(?:[ \u00a0\u2009\u202f'.,]\d{3}){1,8}(?:[.,]\d+)?|\d+(?:[.,]\d+)?)(?![\d])"
)
_SYMBOL_CLASS = "".join(re.escape(symbol) for symbol in _CURRENCY_SYMBOLS)
_CODE_ALTERNATION = "|".join(re.escape(code) for code in sorted(_CURRENCY_ALIASES, key=len, reverse=True))
# Codes are whole words: "120 USD" and "120USD", never the "eur" in "Europe".  Every code
# starts with a letter; the lookahead says so before the alternation, whose ~60 branches
# are otherwise tried one by one after every number on a page (most of a page's cost).
_CODE = rf"(?<![^\W\d_])(?=[^\W\d_])(?:{_CODE_ALTERNATION})\.?(?![^\W\d_])"
_PRICE = re.compile(
    rf"""
    (?:
        (?P<pre_symbol>[{_SYMBOL_CLASS}]) \s*+ (?P<amount_a>{_NUMBER})
      | (?:US)?(?P<pre_code>{_CODE}) \s*+ (?P<amount_b>{_NUMBER})
      | (?P<amount_c>{_NUMBER}) \s*+ (?:(?P<post_symbol>[{_SYMBOL_CLASS}])|(?P<post_code>{_CODE}))
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)
_BARE_NUMBER = re.compile(rf"^\s*(?:{_NUMBER})\s*$")


@dataclass(frozen=True)
class Price:
    """An amount and its currency (ISO 4217 code or crypto ticker, upper case)."""

    amount: float
    currency: str

    @property
    def is_crypto(self) -> bool:
        return self.currency in CRYPTO_CURRENCIES


def currency_words() -> tuple[str, ...]:
    """Every currency code and word this module knows, lower case ("usd", "bitcoin", "руб")."""
    return tuple(_CURRENCY_ALIASES)


def currency_signs() -> tuple[str, ...]:
    """Every currency sign this module knows ("$", "€", "₿"...)."""
    return tuple(_CURRENCY_SYMBOLS)


def normalise_currency(text: str | None) -> str | None:
    """"usd", "US$", "€", "Bitcoin", "руб." -> "USD", "USD", "EUR", "BTC", "RUB"; None if unknown."""
    if not text:
        return None
    cleaned = text.strip().rstrip(".").strip()
    if cleaned in _CURRENCY_SYMBOLS:
        return _CURRENCY_SYMBOLS[cleaned]
    return _CURRENCY_ALIASES.get(cleaned.casefold())


def parse_amount(text: str | None) -> float | None:
    """A number written with either decimal convention; None if ``text`` is not one number."""
    if not text or len(text) > 64 or not _BARE_NUMBER.match(text):
        return None
    return _amount(text.strip())


def _amount(number: str) -> float | None:
    for space in _GROUP_SPACES:
        number = number.replace(space, "")
    last_comma, last_dot = number.rfind(","), number.rfind(".")
    if last_comma >= 0 and last_dot >= 0:
        decimal = "," if last_comma > last_dot else "."
        grouping = "." if decimal == "," else ","
        number = number.replace(grouping, "").replace(decimal, ".")
    elif last_comma >= 0:
        integer_part, _, fraction = number.rpartition(",")
        if number.count(",") > 1 or (len(fraction) == 3 and integer_part.strip("0") != ""):
            number = number.replace(",", "")
        else:
            number = number.replace(",", ".")
    elif number.count(".") > 1:
        number = number.replace(".", "")
    try:
        value = float(number)
    except ValueError:
        return None
    if not math.isfinite(value) or value > _MAX_AMOUNT:
        return None
    return value


def find_prices(text: str | None, limit: int = 50) -> list[Price]:
    """Every price in ``text`` (at most ``limit``), in order of appearance."""
    if not text:
        return []
    prices: list[Price] = []
    for match in _PRICE.finditer(text[:100_000]):
        amount_text = match.group("amount_a") or match.group("amount_b") or match.group("amount_c")
        currency_text = (
            match.group("pre_symbol") or match.group("pre_code")
            or match.group("post_symbol") or match.group("post_code")
        )
        currency = normalise_currency(currency_text)
        amount = _amount(amount_text) if amount_text else None
        if currency is None or amount is None:
            continue
        prices.append(Price(amount, currency))
        if len(prices) >= limit:
            break
    return prices


def parse_price(text: str | None, default_currency: str | None = None) -> Price | None:
    """The first price in ``text``; a bare number takes ``default_currency`` if given."""
    if not text:
        return None
    prices = find_prices(text, limit=1)
    if prices:
        return prices[0]
    if default_currency:
        currency = normalise_currency(default_currency) or default_currency.upper()
        amount = parse_amount(text)
        if amount is not None:
            return Price(amount, currency)
    return None
