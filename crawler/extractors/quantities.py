"""The weight a listing sells, in grams, from its price unit or its title.

Price-per-gram charts (:mod:`search.timelines`) need the quantity a price buys.
Markets rarely give it a field of its own: it sits in the title ("5g MDMA
crystals", "Мефедрон 2г (кристаллы)") or after the price ("1795.00 USD/1LB",
kept as ``price_unit``).

Public API:

* :func:`grams_sold` (title, price_unit) -> float | None -- the weight in grams,
  or None when the listing names no weight, names a unit that is not a weight
  (tabs, blotters), or names two different weights (which one the price buys
  is then a guess, and a wrong price per gram is worse than none);
* :data:`GRAMS_PER_UNIT` -- the weight units understood, in grams.

Pure functions on capped input: the title is read up to :data:`MAX_TITLE`
characters.
"""

from __future__ import annotations

import re

MAX_TITLE = 512
GRAMS_PER_UNIT: dict[str, float] = {
    "mg": 0.001, "мг": 0.001,
    "g": 1.0, "gr": 1.0, "gram": 1.0, "grams": 1.0, "gramm": 1.0, "г": 1.0, "гр": 1.0,
    "kg": 1000.0, "кг": 1000.0, "kilo": 1000.0,
    "oz": 28.349523125, "lb": 453.59237, "lbs": 453.59237,
}
_UNITS = "|".join(sorted((re.escape(unit) for unit in GRAMS_PER_UNIT), key=len, reverse=True))
# A number glued to or one space before a unit, neither inside a longer word nor a longer number
# ("3-MMC", "2C-B" and "4-FA" are names, not weights).
_WEIGHT = re.compile(rf"(?<![\w.,-])(\d{{1,6}}(?:[.,]\d{{1,3}})?)\s?({_UNITS})(?!\w)", re.IGNORECASE)
_PRICE_UNIT = re.compile(rf"^\s*(\d{{1,6}}(?:[.,]\d{{1,3}})?)?\s?({_UNITS})\s*$", re.IGNORECASE)


def _grams(number: str | None, unit: str) -> float:
    amount = float(number.replace(",", ".")) if number else 1.0
    return amount * GRAMS_PER_UNIT[unit.lower()]


def grams_sold(title: str | None, price_unit: str | None = None) -> float | None:
    """Grams the price buys: from ``price_unit`` when it is given, else the one weight in ``title``.

    Returns None when no weight is named, the unit is not a weight, the weights
    named differ, or the weight is zero.
    """
    if price_unit:
        match = _PRICE_UNIT.match(price_unit[:64])
        if match is None:
            return None  # "tab", "piece": priced per something that is not a weight
        grams = _grams(match.group(1), match.group(2))
        return grams or None
    weights = {round(_grams(number, unit), 6) for number, unit in _WEIGHT.findall((title or "")[:MAX_TITLE])}
    if len(weights) != 1:
        return None
    grams = weights.pop()
    return grams or None
