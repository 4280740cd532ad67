"""The market profile loader: a YAML file -> a validated :class:`MarketProfile`.

Every key is checked (unknown keys are errors, with a did-you-mean hint),
every selector and regex is compiled, and the first problem raises
:class:`ProfileError` naming the file, the line and the key, e.g.
``config/markets/agora.yml:14: pages.listing.fields.price: unknown
normaliser 'prcie' (did you mean 'price'?)``.  The YAML format is in the
package docstring (:mod:`crawler.extractors.market_profiles`).

Public API: :func:`load_profile` (path) -> :class:`MarketProfile`;
raises :class:`ProfileError`.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Iterable

import yaml

from cssselect import SelectorError
from cssselect.xpath import ExpressionError
from lxml import etree

from config.i18n import _
from config.os_reasons import os_reason
from config.located_yaml import check_keys, check_nesting, construct, display, yaml_error_line, yaml_problem
from crawler.extractors.market_profiles.model import (
    CARD_FIELDS,
    PAGE_FIELDS,
    PAGE_TYPES,
    FieldSelector,
    MarketProfile,
    CardRule,
    PageRule,
    ProfileError,
    SiteMarker,
    compile_selector,
)
from crawler.extractors.market_profiles.normalisers import (
    NORMALISERS,
    MatchesNormaliser,
    Normaliser,
    RegexNormaliser,
)
from crawler.extractors.prices import normalise_currency


class _Located:
    """Parsed YAML plus the line of every key path, for error messages."""

    def __init__(self, path: Path):
        self.path = path
        self.lines: dict[tuple[str, ...], int] = {}

    def where(self, key_path: tuple[str, ...]) -> str:
        for length in range(len(key_path), -1, -1):
            line = self.lines.get(key_path[:length])
            if line is not None:
                return f"{display(self.path)}:{line}"
        return display(self.path)

    def error(self, key_path: tuple[str, ...], message: str) -> ProfileError:
        key = ".".join(key_path)
        return ProfileError(f"{self.where(key_path)}: {key + ': ' if key else ''}{message}")


def _read_yaml(path: Path) -> tuple[Any, _Located]:
    located = _Located(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(_("{path}: cannot read market profile ({reason})", path=display(path),
                                 reason=os_reason(exc))) from None
    except UnicodeDecodeError:
        raise ProfileError(_("{path}: market profile is not UTF-8 text", path=display(path))) from None
    check_nesting(path, text, ProfileError)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        data = construct(loader, node, (), located) if node is not None else None
    except yaml.YAMLError as exc:
        line = yaml_error_line(exc)
        raise ProfileError(_("{path}: not valid YAML: {problem}", path=display(path) + (f":{line}" if line else ""),
                             problem=yaml_problem(exc))) from None
    except RecursionError:
        # Nested collections are read recursively; no profile nests more than a few levels.
        raise ProfileError(_("{path}: not valid YAML: nested too deeply", path=display(path))) from None
    finally:
        loader.dispose()
    return data, located


def _regex(located: _Located, key_path: tuple[str, ...], value: Any) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise located.error(key_path, _("expected a regular expression (a non-empty string)"))
    try:
        return re.compile(value)
    except re.error as exc:
        raise located.error(key_path, _("invalid regular expression: {problem}", problem=exc)) from None


def _selector_source(located: _Located, key_path: tuple[str, ...], spec: dict[str, Any]) -> tuple[str | None, str | None]:
    css, xpath = spec.get("css"), spec.get("xpath")
    if (css is None) == (xpath is None):
        raise located.error(key_path, _("give exactly one of 'css' or 'xpath'"))
    if css is not None:
        if not isinstance(css, str) or not css.strip():
            raise located.error(key_path + ("css",), _("expected a CSS selector"))
        try:
            compile_selector(css, None)
        except (SelectorError, ExpressionError, etree.XPathSyntaxError, ValueError) as exc:
            # ValueError: lxml refuses NUL and control characters in an expression.
            raise located.error(key_path + ("css",), _("invalid CSS selector {css}: {problem}", css=repr(css),
                                                                problem=exc)) from None
    else:
        if not isinstance(xpath, str) or not xpath.strip():
            raise located.error(key_path + ("xpath",), _("expected an XPath expression"))
        try:
            compile_selector(None, xpath)
        except (etree.XPathSyntaxError, ValueError) as exc:
            # ValueError: lxml refuses NUL and control characters in an expression.
            raise located.error(key_path + ("xpath",), _("invalid XPath {xpath}: {problem}", xpath=repr(xpath),
                                                                  problem=exc)) from None
    return css, xpath


def _marker(located: _Located, key_path: tuple[str, ...], spec: Any) -> SiteMarker:
    spec = check_keys(located, key_path, spec, ("css", "xpath", "attr", "contains", "equals", "regex"), _("a marker"))
    css, xpath = _selector_source(located, key_path, spec)
    for key in ("attr", "contains", "equals"):
        if key in spec and not isinstance(spec[key], str):
            raise located.error(key_path + (key,), _("expected a string"))
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
                    _("unknown normaliser {step} (did you mean {hint}?)", step=repr(step), hint=repr(hint[0])) if hint
                    else _("unknown normaliser {step}; known: {known}", step=repr(step),
                           known=", ".join([*NORMALISERS, "regex"])),
                )
            if step == "regex":
                raise located.error(step_path, _("write the regex normaliser as {regex: 'pattern', group: 1}"))
            chain.append(step)
        elif isinstance(step, dict) and "matches" in step:
            check_keys(located, step_path, step, ("matches",), "{matches: 'pattern'}")
            chain.append(MatchesNormaliser(_regex(located, step_path + ("matches",), step["matches"])))
        elif isinstance(step, dict):
            check_keys(located, step_path, step, ("regex", "group"), "{regex: 'pattern', group: 1}")
            pattern = _regex(located, step_path + ("regex",), step.get("regex"))
            group = step.get("group", 1 if pattern.groups else 0)
            if isinstance(group, bool) or not isinstance(group, (int, str)):
                raise located.error(step_path + ("group",), _("expected a group number or name"))
            if isinstance(group, int) and group > pattern.groups:
                raise located.error(step_path + ("group",), _("the regex has {count} group(s), not {group}",
                                                                  count=pattern.groups, group=group))
            if isinstance(group, str) and group not in pattern.groupindex:
                raise located.error(step_path + ("group",), _("the regex has no group named {group}", group=repr(group)))
            chain.append(RegexNormaliser(pattern, group))
        else:
            raise located.error(step_path, _("expected a normaliser name, {regex: ...} or {matches: ...}"))
    return tuple(chain)


def _field(located: _Located, key_path: tuple[str, ...], name: str, spec: Any, default_chain: tuple[str, ...],
           relative: bool = False) -> FieldSelector:
    if isinstance(spec, str):  # shorthand: a CSS selector
        spec = {"css": spec}
    spec = check_keys(located, key_path, spec, ("css", "xpath", "attr", "all", "normalise", "optional"), _("a field"))
    css, xpath = _selector_source(located, key_path, spec)
    if relative and xpath is not None and xpath.lstrip().startswith("/"):
        # '//span' would search the whole page from every card and give each card the first one.
        raise located.error(key_path + ("xpath",), _("a card field is read inside its card: write a relative XPath "
                                                      "({relative} rather than {xpath})",
                                                      relative=repr("." + xpath.lstrip()), xpath=repr(xpath)))
    if "attr" in spec and (not isinstance(spec["attr"], str) or not spec["attr"]):
        raise located.error(key_path + ("attr",), _("expected an attribute name"))
    for flag in ("all", "optional"):
        if flag in spec and not isinstance(spec[flag], bool):
            raise located.error(key_path + (flag,), _("expected true or false"))
    chain = _normalisers(located, key_path + ("normalise",), spec["normalise"]) if "normalise" in spec else default_chain
    return FieldSelector(
        name=name, css=css, xpath=xpath, attr=spec.get("attr"), take_all=bool(spec.get("all", False)),
        normalisers=chain, optional=bool(spec.get("optional", False)), compiled=compile_selector(css, xpath),
    )


def _cards(located: _Located, key_path: tuple[str, ...], spec: Any) -> CardRule:
    spec = check_keys(located, key_path, spec, ("css", "xpath", "fields"), _("listing cards ({css: ..., fields: ...})"))
    css, xpath = _selector_source(located, key_path, spec)
    raw_fields = check_keys(located, key_path + ("fields",), spec.get("fields") or {}, CARD_FIELDS, _("card fields"))
    fields = {
        name: _field(located, key_path + ("fields", name), name, field_spec, CARD_FIELDS[name], relative=True)
        for name, field_spec in raw_fields.items()
    }
    if "title" not in fields:
        raise located.error(key_path + ("fields",), _("a card needs a 'title' field"))
    if "url" not in fields:
        raise located.error(
            key_path + ("fields",),
            _("a card needs its detail-page 'url' field (e.g. {css: 'a', attr: href}): the card and its "
              "detail page are one listing by it"),
        )
    return CardRule(css, xpath, fields, compiled=compile_selector(css, xpath))


def _page_rule(located: _Located, key_path: tuple[str, ...], page_type: str, spec: Any) -> PageRule:
    spec = check_keys(located, key_path, spec, ("url_pattern", "marker", "fields", "cards"), _("a page type"))
    if "url_pattern" not in spec and "marker" not in spec:
        raise located.error(key_path, _("give a 'url_pattern' or a 'marker' so pages of this type can be recognised"))
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
        raise located.error(key_path + ("fields",), _("{page_type} pages take no fields (only listing and vendor pages do)",
                                                      page_type=page_type))
    raw_fields = check_keys(located, key_path + ("fields",), raw_fields, allowed, _("{page_type} fields", page_type=page_type))
    fields = {
        name: _field(located, key_path + ("fields", name), name, field_spec, allowed[name])
        for name, field_spec in raw_fields.items()
    }
    if page_type == "listing":
        id_from_url = any("listing_id" in pattern.groupindex for pattern in patterns)
        if "title" not in fields:
            raise located.error(key_path + ("fields",), _("a listing needs a 'title' field"))
        # Told by a marker alone, a listing page's id comes from its URL by the generic rule
        # (crawler.extractors.generic_page.listing_id_for_url); a rule that names URLs says where the id is.
        if patterns and not id_from_url and "listing_id" not in fields:
            raise located.error(
                key_path, _("a listing needs its id: add a (?P<listing_id>...) group to url_pattern or a listing_id field")
            )
    if page_type == "vendor":
        name_from_url = any("name" in pattern.groupindex for pattern in patterns)
        if "name" not in fields and not name_from_url:
            raise located.error(key_path + ("fields",), _("a vendor page needs a 'name' field or a (?P<name>...) URL group"))
    cards = _cards(located, key_path + ("cards",), spec["cards"]) if "cards" in spec else None
    return PageRule(page_type, patterns, marker, fields, cards)


def load_profile(path: Path) -> MarketProfile:
    """Read and validate one profile file; raises ProfileError naming file, line and key."""
    data, located = _read_yaml(path)
    if data is None:
        raise located.error((), _("the file is empty; a profile needs at least 'name', 'match' and 'pages'"))
    spec = check_keys(located, (), data, ("name", "description", "currency", "match", "pages"), _("a market profile"))
    name = spec.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", name):
        raise located.error(("name",), _("expected a market name of lower-case letters, digits, '-' or '_'"))
    currency = spec.get("currency")
    if currency is not None and normalise_currency(str(currency)) is None:
        raise located.error(("currency",), _("unknown currency {currency}", currency=repr(currency)))
    if "match" not in spec:
        raise located.error((), _("missing 'match' (hosts, host_patterns or site_markers)"))
    match = check_keys(located, ("match",), spec["match"], ("hosts", "host_patterns", "site_markers"), _("match rules"))
    hosts = match.get("hosts") or []
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h.endswith(".onion") for h in hosts):
        raise located.error(("match", "hosts"), _("expected a list of onion hosts (ending in .onion)"))
    for key in ("host_patterns", "site_markers"):
        if not isinstance(match.get(key) or [], list):
            raise located.error(("match", key), _("expected a list"))
    host_patterns = tuple(
        _regex(located, ("match", "host_patterns", str(i)), p) for i, p in enumerate(match.get("host_patterns") or [])
    )
    markers = tuple(
        _marker(located, ("match", "site_markers", str(i)), m) for i, m in enumerate(match.get("site_markers") or [])
    )
    if not hosts and not host_patterns and not markers:
        raise located.error(
            ("match",), _("give at least one of hosts, host_patterns or site_markers (confirmed hosts come on top of these)")
        )
    pages_spec = check_keys(located, ("pages",), spec.get("pages"), PAGE_TYPES, _("page types"))
    if not pages_spec:
        raise located.error(("pages",), _("define at least one page type (listing, vendor, category, search)"))
    pages = {
        page_type: _page_rule(located, ("pages", page_type), page_type, page_spec)
        for page_type, page_spec in pages_spec.items()
    }
    return MarketProfile(
        name=name,
        source=display(path),
        description=str(spec.get("description") or ""),
        default_currency=normalise_currency(str(currency)) if currency is not None else None,
        hosts={host.lower() for host in hosts},
        host_patterns=host_patterns,
        site_markers=markers,
        pages=pages,
    )
