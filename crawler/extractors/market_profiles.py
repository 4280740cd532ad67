"""Market profiles: per-market extraction rules loaded from ``config/markets/*.yml``.

A profile says how to recognise a market's pages and where each field of a
listing or vendor sits on them.  Adding a market is a new YAML file only.

Public API:

* :meth:`MarketProfiles.load` (a folder of ``*.yml``) and
  :meth:`MarketProfiles.from_files` -> :class:`MarketProfiles`; every file is
  validated on load and the first problem raises :class:`ProfileError` (a
  :class:`config.errors.UserError`) naming the file, the line and the key:
  ``config/markets/agora.yml:14: pages.listing.fields.price: unknown
  normaliser 'prcie' (did you mean 'price'?)``.
* :meth:`MarketProfiles.for_host` -> the :class:`MarketProfile` an onion host
  belongs to, or None; :meth:`MarketProfiles.looks_like` -> the profile whose
  site marker a page carries, or None (a resemblance, never a binding);
  :meth:`MarketProfiles.bind_hosts` adds the hosts an operator confirmed;
  :meth:`MarketProfiles.get` looks a profile up by name.
* :meth:`MarketProfile.page_type` -> ``"listing"``, ``"vendor"``,
  ``"category"``, ``"search"`` or None; :meth:`MarketProfile.extract` ->
  :class:`ProfileExtraction` (normalised field values and the fields that
  matched nothing).
* :data:`NORMALISERS` -- the value normalisers a field may name.

Which hosts belong to a market (:meth:`MarketProfiles.for_host`), and nothing else:

1. hosts the operator confirmed with :meth:`MarketProfiles.bind_hosts` (the
   ``market_hosts`` setting or ``--market-host MARKET=HOST``; the demo confirms
   the onion host tor gave each demo market this run);
2. the profile's ``match.hosts``;
3. the profile's ``match.host_patterns`` (regexes).

``match.site_markers`` (a CSS or XPath selector, optionally with
``contains``/``equals``/``regex`` on its text or ``attr``) never bind a host:
anyone can copy a market's markup.  :meth:`MarketProfiles.looks_like` names
the market whose marker a page on an unknown host carries, so a market that
moved to a new onion, or a phishing copy of one, is recorded as "looks like
market X" and indexed under its own host until the operator confirms it.

Profile YAML (every key is checked; unknown keys are errors)::

    name: bazaar                      # [a-z0-9_-]+
    description: free text            # optional
    currency: USD                     # optional: currency of bare prices
    match: {hosts: [...], host_patterns: [...], site_markers: [{css: ..., contains: ...}]}
    pages:
      listing:
        url_pattern: '^/item/(?P<listing_id>\\d+)'   # regex on path?query; str or list
        marker: {css: 'div.item-page'}             # optional: page type from the HTML
        fields:
          title: {css: 'h1'}
          price: {css: '.price', normalise: price}
          ships_to: {xpath: '//dt[.="Ships to"]/following-sibling::dd[1]', normalise: countries}
          sales: {css: '.sales', normalise: [strip, {regex: '(\\d+) sold'}, int], optional: true}

A field is ``{css: ...}`` or ``{xpath: ...}`` with optional ``attr`` (read an
attribute instead of the text), ``all`` (keep every match as a list),
``normalise`` (a name or a list applied in order: the names in
:data:`NORMALISERS`, ``{regex: 'pattern', group: 1}`` to keep one group, or
``{matches: 'pattern'}`` for True/False; default per field below)
and ``optional`` (missing on a page is normal, so it is not drift).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Union
from urllib.parse import urljoin, urlsplit

import yaml
from cssselect import SelectorError
from cssselect.xpath import ExpressionError
from lxml import etree
from parsel import Selector
from parsel.csstranslator import HTMLTranslator

from crawler.extractors.countries import normalise_country, parse_countries
from crawler.extractors.onions import is_valid_v3_onion
from crawler.extractors.prices import Price, normalise_currency, parse_price
from config.errors import UserError

PAGE_TYPES = ("listing", "vendor", "category", "search")

# Field -> default normaliser chain.  These are also the only fields a page
# type accepts, so a typo in a field name is caught on load.
LISTING_FIELDS: dict[str, tuple[str, ...]] = {
    "listing_id": ("strip",),
    "title": ("strip",),
    "description": ("strip",),
    "price": ("price",),
    "currency": ("currency",),
    "crypto_prices": ("price",),
    "vendor": ("strip",),
    "vendor_url": ("url",),
    "category": ("strip",),
    "ships_from": ("countries",),
    "ships_to": ("countries",),
    "escrow": ("bool",),
    "finalize_early": ("bool",),
    "stock": ("int",),
    "sales": ("int",),
    "rating": ("float",),
}
VENDOR_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("strip",),
    "pgp": ("text",),
    "wallets": ("strip",),
    "contacts": ("strip",),
    "rating": ("float",),
    "sales": ("int",),
    "joined": ("date",),
}
PAGE_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "listing": LISTING_FIELDS,
    "vendor": VENDOR_FIELDS,
    "category": {},
    "search": {},
}
# Fields that hold several values even without ``all: true``.
LIST_FIELDS = frozenset({"crypto_prices", "wallets", "contacts"})

MAX_FIELD_CHARS = 20_000
_XPATH_NAMESPACES = {"re": "http://exslt.org/regular-expressions"}
_WHITESPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"-?\d{1,3}(?:[ ,.\u00a0']\d{3})+(?![\d])|-?\d+(?:[.,]\d+)?")


class ProfileError(UserError):
    """A market profile is invalid; the message names the file, line and key."""


# --- value normalisers ---------------------------------------------------------------


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _strip(value: Any) -> Any:
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
    text = _strip(value)
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
    if isinstance(value, Price):
        return value
    return parse_price(value, default_currency=context.default_currency) if isinstance(value, str) else None


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
    "strip": (_strip, False),
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


# --- selectors ---------------------------------------------------------------------------


_CSS = HTMLTranslator()
_VISIBLE_TEXT = etree.XPath(".//text()[not(ancestor::script or ancestor::style)]", smart_strings=False)


def element_text(element: Any, separator: str) -> str:
    """The text inside an lxml element, script and style excluded (lxml directly: a
    parsel wrapper per text node dominated extraction time)."""
    if not isinstance(getattr(element, "tag", None), str):
        return str(element)
    return separator.join(_VISIBLE_TEXT(element))


def compile_selector(css: str | None, xpath: str | None) -> etree.XPath:
    """One lxml XPath for a CSS selector (``::text`` / ``::attr(x)`` included) or an XPath.

    Raises cssselect's SelectorError / ExpressionError or lxml's XPathSyntaxError.
    """
    expression = _CSS.css_to_xpath(css) if css is not None else (xpath or "")
    return etree.XPath(expression, namespaces=_XPATH_NAMESPACES, smart_strings=False)


def _select(compiled: etree.XPath, selector: Selector) -> list[Any]:
    """Evaluate on the lxml tree directly; parsel's wrapper per result dominated the cost."""
    root = selector.root
    if root is None or isinstance(root, str):
        return []
    try:
        result = compiled(root)
    except etree.XPathEvalError:  # e.g. a function used on the wrong node type: nothing matched
        return []
    return result if isinstance(result, list) else [result]


def _result_text(result: Any, attr: str | None, separator: str) -> str:
    if isinstance(result, (str, bytes)):  # ::text, @attr or text() results
        return result.decode("utf-8", "replace") if isinstance(result, bytes) else str(result)
    if not isinstance(getattr(result, "tag", None), str):
        return str(result) if isinstance(result, (int, float)) else ""
    if attr is not None:
        return result.get(attr, "")
    return element_text(result, separator)


@dataclass(frozen=True)
class FieldSelector:
    """Where one field sits on a page and how its value is normalised."""

    name: str
    css: str | None
    xpath: str | None
    attr: str | None
    take_all: bool
    normalisers: tuple[Normaliser, ...]
    optional: bool
    compiled: etree.XPath = field(compare=False, repr=False, default=None)  # type: ignore[assignment]

    def raw_values(self, selector: Selector) -> list[str]:
        values: list[str] = []
        for result in _select(self.compiled, selector):
            raw = _result_text(result, self.attr, "\n")[:MAX_FIELD_CHARS]
            if raw.strip():
                values.append(raw)
            if not self.take_all and self.name not in LIST_FIELDS and values:
                break
        return values

    def value(self, selector: Selector, context: NormaliseContext) -> Any:
        """The normalised value, a list when ``all``/list field, or None when nothing matched."""
        normalised = []
        for raw in self.raw_values(selector):
            value = apply_normalisers(raw, self.normalisers, context)
            if value is None:
                continue
            if self.take_all or self.name in LIST_FIELDS:
                if isinstance(value, list):
                    normalised.extend(item for item in value if item not in normalised)
                elif value not in normalised:
                    normalised.append(value)
            else:
                return value
        return normalised or None


@dataclass(frozen=True)
class SiteMarker:
    css: str | None
    xpath: str | None
    attr: str | None
    contains: str | None
    equals: str | None
    regex: re.Pattern[str] | None
    compiled: etree.XPath = field(compare=False, repr=False, default=None)  # type: ignore[assignment]

    def present(self, selector: Selector) -> bool:
        for result in _select(self.compiled, selector)[:50]:
            text = _strip(_result_text(result, self.attr, " "))
            if self.contains is not None and self.contains.casefold() not in text.casefold():
                continue
            if self.equals is not None and text != self.equals:
                continue
            if self.regex is not None and not self.regex.search(text):
                continue
            return True
        return False


@dataclass(frozen=True)
class PageRule:
    page_type: str
    url_patterns: tuple[re.Pattern[str], ...]
    marker: SiteMarker | None
    fields: dict[str, FieldSelector]


@dataclass
class ProfileExtraction:
    """What a profile found on one page."""

    market: str
    page_type: str | None
    values: dict[str, Any] = field(default_factory=dict)
    url_groups: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


@dataclass
class MarketProfile:
    name: str
    source: str
    description: str = ""
    default_currency: str | None = None
    hosts: set[str] = field(default_factory=set)
    host_patterns: tuple[re.Pattern[str], ...] = ()
    site_markers: tuple[SiteMarker, ...] = ()
    pages: dict[str, PageRule] = field(default_factory=dict)

    def matches_host(self, onion_host: str) -> bool:
        host = onion_host.lower()
        return host in self.hosts or any(pattern.search(host) for pattern in self.host_patterns)

    def matches_markers(self, selector: Selector) -> bool:
        return any(marker.present(selector) for marker in self.site_markers)

    def page_type(self, url: str, selector: Selector | None = None) -> tuple[str | None, dict[str, str]]:
        """(page type, named URL groups): by URL pattern first, then by page marker."""
        target = _path_and_query(url)
        for rule in self.pages.values():
            for pattern in rule.url_patterns:
                match = pattern.search(target)
                if match:
                    return rule.page_type, {k: v for k, v in match.groupdict().items() if v is not None}
        if selector is not None:
            for rule in self.pages.values():
                if rule.marker is not None and rule.marker.present(selector):
                    return rule.page_type, {}
        return None, {}

    def extract(self, selector: Selector, url: str, page_type: str | None = None,
                countries: Mapping[str, str] | None = None) -> ProfileExtraction:
        """Apply the rules of the page's type; ``missing`` lists expected fields that matched nothing.

        ``countries`` is the country table the ``country``/``countries`` normalisers read
        (default: the config package's).
        """
        detected_type, groups = self.page_type(url, selector)
        page_type = page_type or detected_type
        extraction = ProfileExtraction(market=self.name, page_type=page_type, url_groups=groups)
        rule = self.pages.get(page_type or "")
        if rule is None:
            return extraction
        context = NormaliseContext(page_url=url, default_currency=self.default_currency, countries=countries)
        for name, field_selector in rule.fields.items():
            value = field_selector.value(selector, context)
            if value is None:
                if name in groups:  # listing_id and friends may come from the URL
                    extraction.values[name] = groups[name]
                elif not field_selector.optional:
                    extraction.missing.append(name)
                continue
            extraction.values[name] = value
        for name, value in groups.items():
            extraction.values.setdefault(name, value)
        return extraction


def _path_and_query(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class MarketProfiles:
    """Every loaded profile, and the hosts the operator confirmed at run time."""

    def __init__(self, profiles: Iterable[MarketProfile] = ()):
        self._profiles: dict[str, MarketProfile] = {}
        for profile in profiles:
            if profile.name in self._profiles:
                raise ProfileError(
                    f"{profile.source}: name: {profile.name!r} is already used by {self._profiles[profile.name].source}"
                )
            self._profiles[profile.name] = profile
        # Confirmed by the operator (bind_hosts) only; a site marker never adds to it.
        self._bound_hosts: dict[str, str] = {}

    @classmethod
    def load(cls, directory: str | Path) -> "MarketProfiles":
        """Load every ``*.yml`` / ``*.yaml`` in ``directory`` (sorted); a missing folder is an error."""
        folder = Path(directory)
        if not folder.is_dir():
            raise ProfileError(f"{folder}: market profile folder not found; create it or set config_dir")
        return cls.from_files(sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]))

    @classmethod
    def from_files(cls, paths: Iterable[str | Path]) -> "MarketProfiles":
        return cls(load_profile(Path(path)) for path in paths)

    @property
    def names(self) -> list[str]:
        return sorted(self._profiles)

    def __len__(self) -> int:
        return len(self._profiles)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._profiles.values())

    def get(self, name: str) -> MarketProfile:
        """The profile called ``name``; raises UserError listing the known names."""
        try:
            return self._profiles[name]
        except KeyError:
            hint = difflib.get_close_matches(name, self._profiles, n=1)
            known = ", ".join(self.names) or "none"
            raise UserError(
                f"no market profile named {name!r}"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f"; known profiles: {known}"
            ) from None

    def bind_hosts(self, market_hosts: Iterable[tuple[str, str]]) -> None:
        """Confirm ``(market, onion host)`` pairs: an operator's decision (the ``market_hosts`` setting).

        Raises UserError for a market name no profile has, a host that is not
        a valid v3 onion address, or a host that already belongs to another
        market (confirmed, listed or matched by a host pattern).
        """
        for market, host in market_hosts:
            self.get(market)
            host = host.strip().lower()
            if not host.endswith(".onion") or not is_valid_v3_onion(host):
                raise UserError(
                    f"market host {market}={host}: not a v3 onion address (56 base32 characters with "
                    "a valid checksum, then .onion)"
                )
            owner = self.for_host(host)
            if owner is not None and owner.name != market:
                raise UserError(f"market host {market}={host}: that host already belongs to market {owner.name!r}")
            self._bound_hosts[host] = market

    def for_host(self, onion_host: str | None) -> MarketProfile | None:
        """The profile ``onion_host`` belongs to (confirmed, listed, then host pattern), or None.

        The only way a page is bound to a market: its content never decides.
        """
        if not onion_host:
            return None
        host = onion_host.lower()
        bound = self._bound_hosts.get(host)
        if bound is not None:
            return self._profiles[bound]
        for profile in self._profiles.values():
            if host in profile.hosts:
                return profile
        for profile in self._profiles.values():
            if any(pattern.search(host) for pattern in profile.host_patterns):
                return profile
        return None

    def looks_like(self, selector: Selector) -> MarketProfile | None:
        """The first profile whose site marker the page carries, or None.

        A resemblance only: the caller must not treat the page's host as the
        market's, and nothing is remembered between pages.
        """
        for profile in self._profiles.values():
            if profile.matches_markers(selector):
                return profile
        return None


# --- loading and validation ------------------------------------------------------------


class _Located:
    """Parsed YAML plus the line of every key path, for error messages."""

    def __init__(self, path: Path):
        self.path = path
        self.lines: dict[tuple[str, ...], int] = {}

    def where(self, key_path: tuple[str, ...]) -> str:
        for length in range(len(key_path), -1, -1):
            line = self.lines.get(key_path[:length])
            if line is not None:
                return f"{_display(self.path)}:{line}"
        return _display(self.path)

    def error(self, key_path: tuple[str, ...], message: str) -> ProfileError:
        key = ".".join(key_path)
        return ProfileError(f"{self.where(key_path)}: {key + ': ' if key else ''}{message}")


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _read_yaml(path: Path) -> tuple[Any, _Located]:
    located = _Located(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"{_display(path)}: cannot read market profile ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{_display(path)}: market profile is not UTF-8 text") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        data = _construct(loader, node, (), located) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProfileError(f"{_display(path)}{line}: not valid YAML: {problem}") from None
    finally:
        loader.dispose()
    return data, located


def _construct(loader: yaml.SafeLoader, node: yaml.Node, key_path: tuple[str, ...], located: _Located) -> Any:
    located.lines.setdefault(key_path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(loader.construct_object(key_node, deep=True))
            child = key_path + (key,)
            located.lines[child] = key_node.start_mark.line + 1
            if key in mapping:
                raise located.error(child, "key appears twice")
            mapping[key] = _construct(loader, value_node, child, located)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, key_path + (str(index),), located) for index, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _check_keys(located: _Located, key_path: tuple[str, ...], mapping: Any, allowed: Iterable[str], what: str) -> dict[str, Any]:
    if not isinstance(mapping, dict):
        raise located.error(key_path, f"expected a mapping ({what}), got {type(mapping).__name__}")
    allowed = list(allowed)
    for key in mapping:
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            raise located.error(
                key_path + (key,),
                f"unknown key {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else f"; expected one of {', '.join(allowed)}"),
            )
    return mapping


def _regex(located: _Located, key_path: tuple[str, ...], value: Any) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise located.error(key_path, "expected a regular expression (a non-empty string)")
    try:
        return re.compile(value)
    except re.error as exc:
        raise located.error(key_path, f"invalid regular expression: {exc}") from None


def _selector_source(located: _Located, key_path: tuple[str, ...], spec: dict[str, Any]) -> tuple[str | None, str | None]:
    css, xpath = spec.get("css"), spec.get("xpath")
    if (css is None) == (xpath is None):
        raise located.error(key_path, "give exactly one of 'css' or 'xpath'")
    if css is not None:
        if not isinstance(css, str) or not css.strip():
            raise located.error(key_path + ("css",), "expected a CSS selector")
        try:
            compile_selector(css, None)
        except (SelectorError, ExpressionError, etree.XPathSyntaxError) as exc:
            raise located.error(key_path + ("css",), f"invalid CSS selector {css!r}: {exc}") from None
    else:
        if not isinstance(xpath, str) or not xpath.strip():
            raise located.error(key_path + ("xpath",), "expected an XPath expression")
        try:
            compile_selector(None, xpath)
        except etree.XPathSyntaxError as exc:
            raise located.error(key_path + ("xpath",), f"invalid XPath {xpath!r}: {exc}") from None
    return css, xpath


def _marker(located: _Located, key_path: tuple[str, ...], spec: Any) -> SiteMarker:
    spec = _check_keys(located, key_path, spec, ("css", "xpath", "attr", "contains", "equals", "regex"), "a marker")
    css, xpath = _selector_source(located, key_path, spec)
    for key in ("attr", "contains", "equals"):
        if key in spec and not isinstance(spec[key], str):
            raise located.error(key_path + (key,), "expected a string")
    regex = _regex(located, key_path + ("regex",), spec["regex"]) if "regex" in spec else None
    return SiteMarker(
        css, xpath, spec.get("attr"), spec.get("contains"), spec.get("equals"), regex,
        compiled=compile_selector(css, xpath),
    )


def _normalisers(located: _Located, key_path: tuple[str, ...], spec: Any) -> tuple[Normaliser, ...]:
    steps = spec if isinstance(spec, list) else [spec]
    chain: list[Normaliser] = []
    for index, step in enumerate(steps):
        step_path = key_path if not isinstance(spec, list) else key_path + (str(index),)
        if isinstance(step, str):
            if step not in NORMALISERS and step != "regex":
                hint = difflib.get_close_matches(step, list(NORMALISERS) + ["regex"], n=1)
                raise located.error(
                    key_path[:-1],
                    f"unknown normaliser {step!r}"
                    + (f" (did you mean {hint[0]!r}?)" if hint else f"; known: {', '.join(NORMALISERS)}, regex"),
                )
            if step == "regex":
                raise located.error(step_path, "write the regex normaliser as {regex: 'pattern', group: 1}")
            chain.append(step)
        elif isinstance(step, dict) and "matches" in step:
            _check_keys(located, step_path, step, ("matches",), "{matches: 'pattern'}")
            chain.append(MatchesNormaliser(_regex(located, step_path + ("matches",), step["matches"])))
        elif isinstance(step, dict):
            _check_keys(located, step_path, step, ("regex", "group"), "{regex: 'pattern', group: 1}")
            pattern = _regex(located, step_path + ("regex",), step.get("regex"))
            group = step.get("group", 1 if pattern.groups else 0)
            if isinstance(group, bool) or not isinstance(group, (int, str)):
                raise located.error(step_path + ("group",), "expected a group number or name")
            if isinstance(group, int) and group > pattern.groups:
                raise located.error(step_path + ("group",), f"the regex has {pattern.groups} group(s), not {group}")
            if isinstance(group, str) and group not in pattern.groupindex:
                raise located.error(step_path + ("group",), f"the regex has no group named {group!r}")
            chain.append(RegexNormaliser(pattern, group))
        else:
            raise located.error(step_path, "expected a normaliser name, {regex: ...} or {matches: ...}")
    return tuple(chain)


def _field(located: _Located, key_path: tuple[str, ...], name: str, spec: Any, default_chain: tuple[str, ...]) -> FieldSelector:
    if isinstance(spec, str):  # shorthand: a CSS selector
        spec = {"css": spec}
    spec = _check_keys(located, key_path, spec, ("css", "xpath", "attr", "all", "normalise", "optional"), "a field")
    css, xpath = _selector_source(located, key_path, spec)
    if "attr" in spec and (not isinstance(spec["attr"], str) or not spec["attr"]):
        raise located.error(key_path + ("attr",), "expected an attribute name")
    for flag in ("all", "optional"):
        if flag in spec and not isinstance(spec[flag], bool):
            raise located.error(key_path + (flag,), "expected true or false")
    chain = _normalisers(located, key_path + ("normalise",), spec["normalise"]) if "normalise" in spec else default_chain
    return FieldSelector(
        name=name, css=css, xpath=xpath, attr=spec.get("attr"), take_all=bool(spec.get("all", False)),
        normalisers=chain, optional=bool(spec.get("optional", False)), compiled=compile_selector(css, xpath),
    )


def _page_rule(located: _Located, key_path: tuple[str, ...], page_type: str, spec: Any) -> PageRule:
    spec = _check_keys(located, key_path, spec, ("url_pattern", "marker", "fields"), "a page type")
    if "url_pattern" not in spec and "marker" not in spec:
        raise located.error(key_path, "give a 'url_pattern' or a 'marker' so pages of this type can be recognised")
    raw_patterns = spec.get("url_pattern", [])
    raw_patterns = raw_patterns if isinstance(raw_patterns, list) else [raw_patterns]
    patterns = tuple(
        _regex(located, key_path + ("url_pattern",) + ((str(i),) if isinstance(spec.get("url_pattern"), list) else ()), p)
        for i, p in enumerate(raw_patterns)
    )
    marker = _marker(located, key_path + ("marker",), spec["marker"]) if "marker" in spec else None
    allowed = PAGE_FIELDS[page_type]
    raw_fields = spec.get("fields") or {}
    if raw_fields and not allowed:
        raise located.error(key_path + ("fields",), f"{page_type} pages take no fields (only listing and vendor pages do)")
    raw_fields = _check_keys(located, key_path + ("fields",), raw_fields, allowed, f"{page_type} fields")
    fields = {
        name: _field(located, key_path + ("fields", name), name, field_spec, allowed[name])
        for name, field_spec in raw_fields.items()
    }
    if page_type == "listing":
        id_from_url = any("listing_id" in pattern.groupindex for pattern in patterns)
        if "title" not in fields:
            raise located.error(key_path + ("fields",), "a listing needs a 'title' field")
        if not id_from_url and "listing_id" not in fields:
            raise located.error(
                key_path, "a listing needs its id: add a (?P<listing_id>...) group to url_pattern or a listing_id field"
            )
    if page_type == "vendor":
        name_from_url = any("name" in pattern.groupindex for pattern in patterns)
        if "name" not in fields and not name_from_url:
            raise located.error(key_path + ("fields",), "a vendor page needs a 'name' field or a (?P<name>...) URL group")
    return PageRule(page_type, patterns, marker, fields)


def load_profile(path: Path) -> MarketProfile:
    """Read and validate one profile file; raises ProfileError naming file, line and key."""
    data, located = _read_yaml(path)
    if data is None:
        raise located.error((), "the file is empty; a profile needs at least 'name', 'match' and 'pages'")
    spec = _check_keys(located, (), data, ("name", "description", "currency", "match", "pages"), "a market profile")
    name = spec.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", name):
        raise located.error(("name",), "expected a market name of lower-case letters, digits, '-' or '_'")
    currency = spec.get("currency")
    if currency is not None and normalise_currency(str(currency)) is None:
        raise located.error(("currency",), f"unknown currency {currency!r}")
    if "match" not in spec:
        raise located.error((), "missing 'match' (hosts, host_patterns or site_markers)")
    match = _check_keys(located, ("match",), spec["match"], ("hosts", "host_patterns", "site_markers"), "match rules")
    hosts = match.get("hosts") or []
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h.endswith(".onion") for h in hosts):
        raise located.error(("match", "hosts"), "expected a list of onion hosts (ending in .onion)")
    for key in ("host_patterns", "site_markers"):
        if not isinstance(match.get(key) or [], list):
            raise located.error(("match", key), "expected a list")
    host_patterns = tuple(
        _regex(located, ("match", "host_patterns", str(i)), p) for i, p in enumerate(match.get("host_patterns") or [])
    )
    markers = tuple(
        _marker(located, ("match", "site_markers", str(i)), m) for i, m in enumerate(match.get("site_markers") or [])
    )
    if not hosts and not host_patterns and not markers:
        raise located.error(
            ("match",), "give at least one of hosts, host_patterns or site_markers (confirmed hosts come on top of these)"
        )
    pages_spec = _check_keys(located, ("pages",), spec.get("pages"), PAGE_TYPES, "page types")
    if not pages_spec:
        raise located.error(("pages",), "define at least one page type (listing, vendor, category, search)")
    pages = {
        page_type: _page_rule(located, ("pages", page_type), page_type, page_spec)
        for page_type, page_spec in pages_spec.items()
    }
    return MarketProfile(
        name=name,
        source=_display(path),
        description=str(spec.get("description") or ""),
        default_currency=normalise_currency(str(currency)) if currency is not None else None,
        hosts={host.lower() for host in hosts},
        host_patterns=host_patterns,
        site_markers=markers,
        pages=pages,
    )
