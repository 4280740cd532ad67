"""Field value normalisers of the market profiles: raw text from a page -> a typed value.

A profile field names a chain of them (``normalise: [strip, {regex: ...}, int]``);
each takes the previous step's value and returns the next, or None when the
text holds no such value.  Page text is hostile: :func:`strip_value` drops
control characters (terminal escapes) as it collapses whitespace.

Public API:

* :data:`NORMALISERS` -- name -> (function, whether it needs the page context);
  the names a profile may use.
* :class:`NormaliseContext` -- the page URL and the market's default currency.
* :class:`RegexNormaliser` (``{regex: 'pattern', group: 1}``) and
  :class:`MatchesNormaliser` (``{matches: 'pattern'}``); :data:`Normaliser`
  is a name or one of them.
* :func:`apply_normalisers` (value, chain, context) -> the normalised value or None.
* :func:`strip_value` (value) -> the value with whitespace collapsed and control
  characters dropped (non-strings unchanged).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping, Union
from urllib.parse import urljoin, urlsplit

from crawler.extractors.countries import normalise_country, parse_countries
from crawler.extractors.price_spans import find_price_spans
from crawler.extractors.prices import Price, normalise_currency, parse_price

MAX_PRICE_TEXT_CHARS = 2_000  # a price field is a price tag, not a page

_WHITESPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"-?\d{1,3}(?:[ ,.\u00a0']\d{3})+(?![\d])|-?\d+(?:[.,]\d+)?")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def strip_value(value: Any) -> Any:
    """Whitespace collapsed; control characters (terminal escapes in hostile pages) dropped."""
    return _WHITESPACE.sub(" ", _CONTROL.sub("", value)).strip() if isinstance(value, str) else value


def _text(value: Any) -> Any:
    """Keep line breaks (PGP blocks need them) but trim every line."""
    if not isinstance(value, str):
        return value
    lines = [line.strip() for line in _CONTROL.sub("", value.replace("\r\n", "\n")).split("\n")]
    return "\n".join(lines).strip()


def _first_number(value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        return None
    match = _NUMBER.search(value[:1_000])
    # Counts, stock and ratings are short; a 40-digit run is an ID or noise.
    return match.group() if match and len(match.group()) <= 20 else None


def _int(value: Any) -> int | None:
    number = _first_number(value)
    if number is None:
        return None
    digits = re.sub(r"[ ,.\u00a0']", "", number) if re.search(r"\d[ ,.\u00a0']\d{3}(?!\d)", number) else number
    try:
        return int(float(digits.replace(",", ".")))
    except ValueError:
        return None


def _float(value: Any) -> float | None:
    number = _first_number(value)
    if number is None:
        return None
    try:
        return float(number.replace(",", "."))
    except ValueError:
        return None


_TRUE_WORDS = {"yes", "true", "on", "1", "enabled", "available", "allowed", "y", "да", "✓", "✔", "☑"}
_FALSE_WORDS = {"no", "false", "off", "0", "disabled", "unavailable", "not allowed", "n", "нет", "✗", "✘", "☐", "none"}


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip().casefold()
    if ":" in text:  # "Escrow: yes"
        text = text.rsplit(":", 1)[1].strip()
    if text in _TRUE_WORDS:
        return True
    if text in _FALSE_WORDS:
        return False
    words = set(re.findall(r"[^\W_]+|[✓✔☑✗✘☐]", text))
    if words & {"no", "not", "disabled", "нет", "✗", "✘", "☐"}:
        return False
    if words & {"yes", "enabled", "available", "allowed", "да", "✓", "✔", "☑"}:
        return True
    return None


_DATE_FORMATS = (
    "%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y", "%B %d, %Y", "%b %d, %Y",
    "%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y", "%B %Y", "%b %Y", "%Y-%m",
)


def _date(value: Any) -> str | None:
    """An ISO date ``YYYY-MM-DD`` (``YYYY-MM-01`` when only a month is given)."""
    if not isinstance(value, str):
        return None
    text = strip_value(value)
    iso = re.search(r"\d{4}-\d{2}-\d{2}", text)
    if iso:
        text = iso.group()
    else:
        text = re.sub(r"^(?:joined|member since|since|registered|дата регистрации)\s*:?\s*", "", text, flags=re.I)
        text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text)
    for date_format in _DATE_FORMATS:
        try:
            return datetime.strptime(text, date_format).date().isoformat()
        except ValueError:
            continue
    return None


def _price(value: Any, context: "NormaliseContext") -> Price | None:
    """The first printed price, read as the profile-free extraction reads one ("฿0.0005",
    "12 mBTC", "46.00 - 275.00 EUR" -> 46 EUR); a bare number takes the market's currency."""
    if isinstance(value, Price):
        return value
    if not isinstance(value, str):
        return None
    # An element's text keeps the page's line breaks ("50.00 -\n\t\t39000.00\n\t\tEUR"); the
    # profile-free reading sees it collapsed, and so must this one, or a range reads as its top.
    spans = find_price_spans(" ".join(value[:MAX_PRICE_TEXT_CHARS].split()), limit=1)
    if spans:
        return Price(spans[0].amount, spans[0].currency)
    return parse_price(value, default_currency=context.default_currency)


def _url(value: Any, context: "NormaliseContext") -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    absolute = urljoin(context.page_url, value.strip())
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


@dataclass(frozen=True)
class NormaliseContext:
    page_url: str
    default_currency: str | None
    # Country spellings (crawler.extractors.countries.load_country_table); None: the config package's.
    countries: Mapping[str, str] | None = None


@dataclass(frozen=True)
class MatchesNormaliser:
    """``{matches: 'Escrow'}``: True when the text matches the regex, else False.

    For yes/no facts a page shows as a word in a longer text ("Payment:
    Finalize Early (FE) - 100%").
    """

    pattern: re.Pattern[str]

    def __call__(self, value: Any) -> bool | None:
        return bool(self.pattern.search(value)) if isinstance(value, str) else None


@dataclass(frozen=True)
class RegexNormaliser:
    pattern: re.Pattern[str]
    group: int | str

    def __call__(self, value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        match = self.pattern.search(value)
        if match is None:
            return None
        return match.group(self.group)


# name -> (function, whether it needs the page context)
NORMALISERS: dict[str, tuple[Callable[..., Any], bool]] = {
    "strip": (strip_value, False),
    "text": (_text, False),
    "lower": (lambda v: v.lower() if isinstance(v, str) else v, False),
    "upper": (lambda v: v.upper() if isinstance(v, str) else v, False),
    "int": (_int, False),
    "float": (_float, False),
    "bool": (_bool, False),
    "date": (_date, False),
    "price": (_price, True),
    "currency": (lambda v: normalise_currency(v) if isinstance(v, str) else None, False),
    "country": (lambda v, c: normalise_country(v, c.countries) if isinstance(v, str) else None, True),
    "countries": (lambda v, c: parse_countries(v, table=c.countries) if isinstance(v, str) else None, True),
    "url": (_url, True),
}


Normaliser = Union[str, RegexNormaliser, MatchesNormaliser]


def apply_normalisers(value: Any, chain: Iterable[Normaliser], context: NormaliseContext) -> Any:
    """Run ``value`` through ``chain``; None (or an empty string/list) stops it."""
    for step in chain:
        if value is None or value == "" or value == []:
            return None
        if isinstance(step, (RegexNormaliser, MatchesNormaliser)):
            value = step(value)
            continue
        function, needs_context = NORMALISERS[step]
        value = function(value, context) if needs_context else function(value)
    return None if value == "" or value == [] else value
