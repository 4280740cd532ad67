"""Prices as markets print them on cards and detail pages, with where they sit in the text.

Public API:

* :func:`find_price_spans` ``(text, limit=20) -> list[PriceSpan]``: every
  amount written next to a currency sign or code, in order: "58.05 USD",
  "USD 75.00", "$20.00 USD" (one price), "250.00 $", "฿0.000523", "12 mBTC"
  (0.012 BTC), "1795.00 USD/1LB" (unit "1LB"), "46.00 - 275.00 EUR" (46 EUR,
  up to 275), "1.234,56 €" and "1,234.56 $" (both thousands conventions),
  "5 000 руб.", "10.00 USD / item" (unit "item"), "CAD $367.5" and "$89.25 CAD"
  (a code or prefix beside "$" names the dollar: CAD; the sign alone is USD).
* :data:`DOLLAR_CODES` -- the currencies written with a "$" sign.
* :class:`PriceSpan` -- amount, currency, the unit after a per-unit price,
  the high end of a range, and ``start``/``end`` offsets into the text.

Amounts are read by :func:`crawler.extractors.prices.parse_amount` and
currency words by :func:`crawler.extractors.prices.normalise_currency` (one
decimal-separator rule and one currency table for the whole project); this
module adds what printed prices need on top: ``฿`` (the Thai baht sign, which
markets use for bitcoin), ``mBTC``, per-unit prices and ranges.

Cost: one pass of a tokenising regex without nested quantifiers, then a
linear walk over at most ``MAX_TOKENS`` tokens of at most ``MAX_TEXT_CHARS``
characters; hostile text cannot make it slower.  Never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from crawler.extractors.prices import CRYPTO_CURRENCIES, currency_words, currency_signs, normalise_currency, parse_amount

MAX_TEXT_CHARS = 20_000
MAX_TOKENS = 4_000

# One token at a time: a number (a digit, then digits, dots and commas; a trailing
# separator is given back below), a currency sign, a word, or any other single
# character.  No quantifier is nested and no alternative can overlap another's
# start, so the scan is linear.
_TOKEN = re.compile(
    r"(?P<num>\d[\d.,]*)"
    r"|(?P<sym>[$€£¥₽₿Ƀɱ฿₴₺Ξ])"
    r"|(?P<word>[^\W\d_]+)"
    r"|(?P<space>[ \t\r\n\u00a0\u2009\u202f]+)"
    r"|(?P<other>.)",
    re.S,
)
# Signs that mean bitcoin on market pages although Unicode gives them to other currencies.
_SIGN_CURRENCY = {"฿": "BTC"}
_SYMBOLS = "".join(currency_signs())
_CURRENCY_WORDS = tuple(word for word in currency_words() if len(word) >= 2)
# Codes whose amount is a fraction of the coin.
_SCALED_CODES = {"mbtc": ("BTC", 0.001), "µbtc": ("BTC", 0.000001), "ubtc": ("BTC", 0.000001)}
_RANGE_DASHES = frozenset("-–—~")
# Any sign, or any letter run that could be a currency word: the tokeniser runs only where this hits.
_CURRENCY_HINT = re.compile(
    "[" + re.escape("".join(sorted(set(_SYMBOLS + "".join(_SIGN_CURRENCY))))) + "]|"
    + "|".join(sorted({re.escape(word) for word in (*_CURRENCY_WORDS, *_SCALED_CODES)}, key=len, reverse=True)),
    re.I,
)
_MAX_UNIT_CHARS = 24
_ASCII_DIGIT = re.compile(r"[0-9]")
_NUMBER_SIGNS = frozenset({"#", "№"})


@dataclass(frozen=True)
class PriceSpan:
    """One printed price: ``amount`` ``currency`` (ISO code or ticker) at ``text[start:end]``."""

    amount: float
    currency: str
    start: int
    end: int
    unit: str | None = None
    amount_max: float | None = None

    @property
    def is_crypto(self) -> bool:
        return self.currency in CRYPTO_CURRENCIES


class _Token(NamedTuple):
    """One token of a text (a tuple: a page's texts make tens of thousands of them)."""

    kind: str
    text: str
    start: int
    end: int


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _TOKEN.finditer(text[:MAX_TEXT_CHARS]):
        kind = match.lastgroup or "other"
        value, start, end = match.group(), match.start(), match.end()
        if kind == "num" and value[-1] in ".,":
            # "58.05." ends a sentence: the separator is punctuation, not part of the amount.
            trimmed = value.rstrip(".,")
            tokens.append(_Token(kind, trimmed, start, start + len(trimmed)))
            tokens.append(_Token("other", value[len(trimmed):], start + len(trimmed), end))
        else:
            tokens.append(_Token(kind, value, start, end))
        if len(tokens) >= MAX_TOKENS:
            break
    return tokens


def _currency_of(token: _Token | None) -> tuple[str, float] | None:
    """(currency, scale) a sign or code token names, else None."""
    if token is None:
        return None
    if token.kind == "sym":
        code = _SIGN_CURRENCY.get(token.text) or normalise_currency(token.text)
        return (code, 1.0) if code else None
    if token.kind == "word" and len(token.text) <= 12:
        scaled = _SCALED_CODES.get(token.text.casefold())
        if scaled:
            return scaled
        # Single letters ("р", "R") are too ambiguous next to a number in free text.
        if len(token.text) < 2:
            return None
        code = normalise_currency(token.text)
        return (code, 1.0) if code else None
    return None


# Currencies written with a "$" sign; beside the sign, their code or prefix says which dollar it is.
DOLLAR_CODES = frozenset({"USD", "CAD", "AUD", "NZD", "HKD", "SGD", "MXN"})
# Prefixes written against the sign ("C$12", "AU$ 5"); "US" also spaced ("US $5" stays USD anyway).
_DOLLAR_PREFIXES = {"us": "USD", "c": "CAD", "ca": "CAD", "can": "CAD", "a": "AUD", "au": "AUD", "nz": "NZD",
                    "hk": "HKD", "s": "SGD", "sg": "SGD", "mx": "MXN"}


def _dollar_of(token: _Token | None, touching: bool) -> str | None:
    """The dollar a word before a "$" names: a code ("CAD $12") or, touching the sign, a prefix ("C$12")."""
    if token is None or token.kind != "word" or len(token.text) > 3:
        return None
    word = token.text.casefold()
    code = word.upper()
    if code in DOLLAR_CODES:
        return code
    if touching or word == "us":
        return _DOLLAR_PREFIXES.get(word)
    return None


def _at(tokens: list[_Token], index: int) -> _Token | None:
    return tokens[index] if 0 <= index < len(tokens) else None


def _skip_space(tokens: list[_Token], index: int, step: int) -> int:
    """The index of the next token in direction ``step`` that is not a short space."""
    token = _at(tokens, index)
    if token is not None and token.kind == "space" and len(token.text) <= 3:
        return index + step
    return index


def _merge_space_groups(tokens: list[_Token]) -> list[_Token]:
    """Join "5 000" and "1 234,56" (thousands grouped by spaces) into one number token."""
    merged: list[_Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.kind == "num" and len(token.text) <= 3 and token.text.isdigit():
            text, end, cursor = token.text, token.end, index
            while (
                cursor + 2 < len(tokens)
                and tokens[cursor + 1].kind == "space" and tokens[cursor + 1].text in (" ", "\u00a0", "\u2009", "\u202f")
                and tokens[cursor + 2].kind == "num" and re.fullmatch(r"\d{3}(?:[.,]\d{1,2})?", tokens[cursor + 2].text)
            ):
                text += " " + tokens[cursor + 2].text
                end = tokens[cursor + 2].end
                cursor += 2
                if "," in tokens[cursor].text or "." in tokens[cursor].text:
                    break
            if cursor != index:
                merged.append(_Token("num", text, token.start, end))
                index = cursor + 1
                continue
        merged.append(token)
        index += 1
    return merged


def _unit_after(text: str, tokens: list[_Token], index: int) -> tuple[str | None, int]:
    """A unit written straight after the currency ("USD/1LB", "USD/56tab"): (unit, last token index)."""
    # "USD/1LB", and with one space each side, "USD / item", "руб / 20г".
    slash_index = index + 1
    spaced = _at(tokens, slash_index) is not None and tokens[slash_index].text == " "
    if spaced:
        slash_index += 1
    slash = _at(tokens, slash_index)
    if slash is None or slash.text != "/":
        return None, index
    start = slash_index + 1
    if spaced:
        if _at(tokens, start) is None or tokens[start].text != " ":
            return None, index
        start += 1
    cursor, end = start, None
    while cursor < len(tokens) and tokens[cursor].kind in ("num", "word") and cursor - start <= 2:
        end = cursor
        cursor += 1
    if end is None:
        return None, index
    unit = text[tokens[start].start:tokens[end].end]
    # "$60/0.005802 BTC" is a second price, not a unit.
    following = _at(tokens, _skip_space(tokens, end + 1, 1))
    if len(unit) > _MAX_UNIT_CHARS or _currency_of(following) is not None or _currency_of(tokens[end]) is not None:
        return None, index
    return unit, end


def split_by_amounts(spans: list[PriceSpan], amounts: list[tuple[float, str | None]]) -> tuple[list[PriceSpan], list[PriceSpan]]:
    """(the spans that match an (amount, currency) of ``amounts``, each pair matched once; the other
    spans), both in the order of ``spans``."""
    left = list(amounts)
    matched: list[PriceSpan] = []
    rest: list[PriceSpan] = []
    for span in spans:
        key = (span.amount, span.currency)
        if key in left:
            left.remove(key)
            matched.append(span)
        else:
            rest.append(span)
    return matched, rest


def may_hold_price(text: str) -> bool:
    """A cheap test: False when ``text`` has no digit or no currency sign or code at all."""
    if text.isascii():  # an ASCII character is a digit only when it is 0-9
        if _ASCII_DIGIT.search(text) is None:
            return False
    elif not any(character.isdigit() for character in text):
        return False
    return _CURRENCY_HINT.search(text) is not None


# A weight label shortly before "<number> pounds": the word is the unit of mass.
_WEIGHT_LABEL = re.compile(r"(?i)\b(?:weight|weighs|weighing|net wt|вес|масса|gewicht|poids|peso)\b[^\d]{0,16}$")


def _is_weight(text: str, start: int, word: str) -> bool:
    """True for "Weight: 1.7 pounds": the amount follows a weight label and "pound(s)" is written out."""
    return word.casefold() in ("pound", "pounds") and _WEIGHT_LABEL.search(text[max(0, start - 40):start]) is not None


def find_price_spans(text: str | None, limit: int = 20) -> list[PriceSpan]:
    """Every price printed in ``text`` (at most ``limit``), in order; [] when there is none."""
    if not text or not may_hold_price(text[:MAX_TEXT_CHARS]):
        return []
    tokens = _merge_space_groups(_tokens(text))
    spans: list[PriceSpan] = []
    used_until = -1  # tokens up to here belong to an earlier price
    index = 0
    while index < len(tokens) and len(spans) < limit:
        token = tokens[index]
        if token.kind != "num" or index <= used_until:
            index += 1
            continue
        amount = parse_amount(token.text)
        previous = _at(tokens, index - 1)
        if amount is None or (previous is not None and previous.text in _NUMBER_SIGNS):
            index += 1  # "#2 $7", "№ 5": a number sign makes a count or an id, never an amount
            continue
        before_index = _skip_space(tokens, index - 1, -1)
        before = _currency_of(_at(tokens, before_index)) if before_index > used_until else None
        # "US$ 12", "C$ 12", "CAD $12": a country prefix or a fiat code in front of the sign names the dollar.
        if before is not None and tokens[before_index].text == "$":
            prefix_index = before_index - 1
            if _at(tokens, prefix_index) is not None and tokens[prefix_index].kind == "space" and len(tokens[prefix_index].text) == 1:
                prefix_index -= 1  # "CAD $12", never "US $12" (a code must touch or be one space away)
            prefix = _at(tokens, prefix_index) if prefix_index > used_until else None
            named = _dollar_of(prefix, touching=prefix_index == before_index - 1)
            if named is not None:
                before, before_index = (named, 1.0), prefix_index
        after_index = _skip_space(tokens, index + 1, 1)
        after = _currency_of(_at(tokens, after_index))
        if (before is not None and after is not None and tokens[before_index].text == "$"
                and after[0] != before[0] and after[0] in DOLLAR_CODES):
            before = after  # "$89.25 CAD": the code says which dollar the sign is
        last_index = index
        amount_max: float | None = None
        if after is None and before is None:
            # "46.00 - 275.00 EUR": the currency follows the high end of the range.
            dash_index = _skip_space(tokens, index + 1, 1)
            dash = _at(tokens, dash_index)
            high_index = _skip_space(tokens, dash_index + 1, 1)
            high = _at(tokens, high_index)
            if dash is not None and dash.text in _RANGE_DASHES and high is not None and high.kind == "num":
                currency_index = _skip_space(tokens, high_index + 1, 1)
                after = _currency_of(_at(tokens, currency_index))
                if after is not None:
                    amount_max = parse_amount(high.text)
                    after_index = currency_index
            if after is None:
                index += 1
                continue
        currency, scale = before or after  # type: ignore[misc]
        start = tokens[before_index].start if before is not None else token.start
        if before is None and _is_weight(text, token.start, tokens[after_index].text):
            index += 1  # "Weight: 1.7 pounds" is a weight, not a price in pounds sterling
            continue
        if after is not None and (before is None or after[0] == before[0]):
            last_index = after_index  # "$20.00 USD" is one price
        unit, last_index = _unit_after(text, tokens, last_index)
        if before is not None and after is None and amount_max is None:
            # "$35-$47.50": a range written with the sign on both ends.
            dash_index = _skip_space(tokens, last_index + 1, 1)
            dash = _at(tokens, dash_index)
            sign_index = _skip_space(tokens, dash_index + 1, 1)
            high_index = _skip_space(tokens, sign_index + 1, 1)
            high = _at(tokens, high_index)
            if (dash is not None and dash.text in _RANGE_DASHES and _currency_of(_at(tokens, sign_index)) == before
                    and high is not None and high.kind == "num"):
                amount_max = parse_amount(high.text)
                last_index = high_index
        spans.append(
            PriceSpan(
                amount=amount * scale,
                currency=currency,
                start=start,
                end=tokens[last_index].end,
                unit=unit,
                amount_max=amount_max * scale if amount_max is not None else None,
            )
        )
        used_until = last_index
        index = last_index + 1
    return spans
