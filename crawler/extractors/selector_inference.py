"""Selectors inferred from elements: the card, field and marker selectors of a suggested profile.

:mod:`crawler.extractors.profile_suggestion` knows which elements held
what on saved pages (the listing cards that record mining found and the
elements inside them that gave a title, a price, a vendor; the elements of a
detail page that print its title and price).  This module turns those
elements into selectors a person can read, and keeps only selectors that
give back, on every sample, the value the profile-free extraction found.

Public API:

* :class:`Choice` -- a selector (CSS or XPath, maybe an attribute and a
  normaliser chain) and how many samples it reproduced.
* :func:`card_selector` ``(pages) -> Choice | None``: one selector for the
  cards of every page (class-based where the cards share stable classes,
  structural otherwise).
* :func:`card_field` ``(name, samples, context_of) -> Choice | None``: a
  field selector relative to each card.
* :func:`page_field` ``(name, samples) -> Choice | None``: a field selector
  on whole pages (detail pages, vendor profiles).
* :func:`locate` ``(tree, name, expected) -> list[element]``: the elements of
  a page whose text is a value (where a detail page prints its title...).
* :func:`marker` ``(positives, negatives, preferred) -> Choice | None``: a
  selector present on every page of one type and on no other page.
* :func:`stable_classes` -- the classes of an element that look written by a
  person (no generated ids such as ``shopItem_576552``).

What goes into a selector comes from hostile pages: only class and id names
of ASCII letters, digits, ``_`` and ``-``, tag names of letters and digits,
and label texts of letters, digits, spaces and ``.:/-`` are used; nothing
else from a page ever reaches a selector.  Cost: a few dozen candidate
selectors, each evaluated once per sample (lxml XPath).  Never raises on odd
markup.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from lxml import etree

from crawler.extractors.market_profiles.model import FieldSelector, compile_selector, element_text
from crawler.extractors.market_profiles.normalisers import NormaliseContext, RegexNormaliser, strip_value
from crawler.extractors.page_tree import PageTree, clean_text
from crawler.extractors.prices import Price

MAX_CANDIDATES = 80
MAX_MARKER_ELEMENTS = 400
MAX_ANCESTORS = 6

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,59}$")
_TAG = re.compile(r"^[a-z][a-z0-9]{0,15}$")
_LABEL = re.compile(r"^[^\W\d_][\w .:/-]{0,29}$")
# Tokens that a framework or a database generated: an id in a class name changes with every item.
_GENERATED = re.compile(r"\d{3,}|[0-9a-f]{8,}|^(?:css|sc|jsx|emotion)-", re.I)
# Trailing notes a name may carry ("Sankhara(21)", "dutch-skills (100%)"), and a leading "@".
_NAME_NOTES = r"@?(.+?)(?:\s*[(\[][^()\[\]]{0,20}[)\]]){0,3}"


def stable_classes(element: Any) -> list[str]:
    """The element's classes that are safe CSS names and not generated ids, in page order."""
    classes = element.get("class") if isinstance(getattr(element, "tag", None), str) else None
    if not classes or len(classes) > 500:
        return []
    return [name for name in dict.fromkeys(classes.split()) if _NAME.match(name) and not _GENERATED.search(name)]


def _stable_id(element: Any) -> str | None:
    value = element.get("id")
    return value if value and _NAME.match(value) and not _GENERATED.search(value) else None


def _tag(element: Any) -> str | None:
    tag = element.tag if isinstance(getattr(element, "tag", None), str) else None
    return tag.lower() if tag and _TAG.match(tag.lower()) else None


def _steps(element: Any, classes: Sequence[str] | None = None, bare: bool = False) -> list[str]:
    """CSS compounds for one element: tag#id, tag.all.classes, tag.each-class, .each-class, and
    the bare tag last if asked."""
    tag = _tag(element)
    if tag is None:
        return []
    classes = stable_classes(element) if classes is None else list(classes)
    steps = []
    identifier = _stable_id(element)
    if identifier:
        steps.append(f"{tag}#{identifier}")
    if len(classes) > 1:
        steps.append(tag + "".join(f".{name}" for name in classes))
    steps.extend(f"{tag}.{name}" for name in classes)
    steps.extend(f".{name}" for name in classes)  # one look printed by several tags
    if bare:
        steps.append(tag)
    return steps


_ATTRIBUTE_VALUE = re.compile(r"^[\w #:;.,%()/-]{1,40}$")
_HREF_KEY = re.compile(r"[?&]([A-Za-z_][\w-]{0,30})=")
_HREF_SEGMENT = re.compile(r"^/?([A-Za-z_][\w-]{0,30})/")
_HREF_FILE = re.compile(r"(?:^|/)([A-Za-z_][\w-]{0,30}\.(?:php|aspx?|jsp|html?))(?:[?#]|$)")


def _href_steps(element: Any) -> list[str]:
    """a[href*="..."] for the constant part of a link: a query key, a script name, a first path segment."""
    href = element.get("href")
    if _tag(element) != "a" or not isinstance(href, str) or len(href) >= 500:
        return []
    steps = []
    for pattern, form in ((_HREF_KEY, "{}="), (_HREF_FILE, "{}"), (_HREF_SEGMENT, "/{}/")):
        match = pattern.search(href)
        if match:
            steps.append(f'a[href*="{form.format(match.group(1))}"]')
    return steps


def _attribute_steps(element: Any) -> list[str]:
    """tag[attr="value"] for the attributes a template sets the same on every item (itemprop,
    name, role, type, style, rel, data-*)."""
    tag = _tag(element)
    if tag is None:
        return []
    steps = []
    for name, value in list(element.attrib.items())[:20]:
        name = str(name).lower()
        if name in ("itemprop", "name", "role", "type", "style", "rel") or (name.startswith("data-") and _NAME.match(name)):
            if isinstance(value, str) and _ATTRIBUTE_VALUE.match(value.strip()) and '"' not in value:
                steps.append(f'{tag}[{name}="{value.strip()}"]')
            elif name.startswith("data-"):
                steps.append(f"{tag}[{name}]")
    return steps


def xpath_literal(text: str) -> str | None:
    """``text`` as an XPath string literal, or None when it holds both kinds of quote."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return None


@dataclass(frozen=True)
class Choice:
    """A selector and how well it reproduced the samples it was chosen on."""

    css: str | None = None
    xpath: str | None = None
    attr: str | None = None
    regex: str | None = None  # a {regex: ...} step after strip, or None for the field's default chain
    hits: int = 0
    total: int = 0
    extras: int = 0  # card selectors: elements matched that were not cards
    pages: int = 0  # how many pages the samples came from

    @property
    def exact(self) -> bool:
        return self.hits == self.total and self.extras == 0

    def compiled(self) -> etree.XPath:
        return compile_selector(self.css, self.xpath)

    def field_selector(self, name: str, default_chain: tuple[str, ...]) -> FieldSelector:
        chain: tuple[Any, ...] = default_chain
        if self.regex is not None:
            pattern = re.compile(self.regex)
            chain = ("strip", RegexNormaliser(pattern, 1 if pattern.groups else 0))
        return FieldSelector(name=name, css=self.css, xpath=self.xpath, attr=self.attr, take_all=False,
                             normalisers=chain, optional=False, compiled=self.compiled())


def _compiles(css: str | None, xpath: str | None) -> etree.XPath | None:
    try:
        return compile_selector(css, xpath)
    except Exception:  # cssselect and lxml raise several kinds; a candidate that does not compile is dropped
        return None


def _elements(compiled: etree.XPath, root: Any) -> list[Any]:
    try:
        found = compiled(root)
    except etree.XPathError:
        return []
    return [item for item in found if isinstance(getattr(item, "tag", None), str)] if isinstance(found, list) else []


# --- cards ----------------------------------------------------------------------------------


@dataclass
class CardPage:
    """One page's root and its card elements (an empty list for a page of the type without cards)."""

    root: Any
    cards: list[Any]


def _ancestor(element: Any, levels: int) -> tuple[Any, list[str]] | None:
    """(the ancestor ``levels`` up, the tags of the elements between it and ``element``, top first)."""
    chain: list[str] = []
    current = element
    for _ in range(levels):
        tag = _tag(current)
        parent = current.getparent()
        if tag is None or parent is None:
            return None
        chain.insert(0, tag)
        current = parent
    return current, chain[:-1]


def _common_classes(elements: Sequence[Any]) -> list[str]:
    common = stable_classes(elements[0])
    for element in elements[1:]:
        own = set(stable_classes(element))
        common = [name for name in common if name in own]
    return common


def _card_candidates(elements: Sequence[Any]) -> list[str]:
    """CSS selectors for one template of cards, most readable first."""
    tag = _tag(elements[0])
    if tag is None or any(_tag(element) != tag for element in elements):
        return []
    own = _steps(elements[0], _common_classes(elements))
    ids = {element.get("id") for element in elements}
    if len(ids) != 1:
        own = [step for step in own if "#" not in step]
    candidates = list(own)
    for levels in (1, 2, 3):
        ancestors = [_ancestor(element, levels) for element in elements]
        if any(found is None for found in ancestors) or len({tuple(found[1]) for found in ancestors}) != 1:  # type: ignore[index]
            continue
        tops = [found[0] for found in ancestors]  # type: ignore[index]
        top_steps = _steps(tops[0], _common_classes(tops))
        if len({top.get("id") for top in tops}) != 1:
            top_steps = [step for step in top_steps if "#" not in step]
        between = ancestors[0][1]  # type: ignore[index]
        for top in top_steps:
            for last in [*own, tag]:
                candidates.append(" > ".join([top, *between, last]))
    # Structural: the tag path from <body>, the same for every card.
    paths = set()
    for element in elements:
        path: list[str] = []
        current = element
        while current is not None and _tag(current) not in (None, "body", "html"):
            path.insert(0, _tag(current) or "")
            current = current.getparent()
        paths.add(tuple(path) if current is not None and _tag(current) == "body" else None)
    if len(paths) == 1 and None not in paths:
        candidates.append(" > ".join(["body", *next(iter(paths))]))  # type: ignore[arg-type]
    return list(dict.fromkeys(candidates))


def _score_card_selector(css: str, pages: Sequence[CardPage], wanted: set[int], all_cards: set[int]) -> tuple[int, int, int]:
    """(cards of the template matched, cards of the template, elements matched that are no card)."""
    compiled = _compiles(css, None)
    if compiled is None:
        return 0, len(wanted), math.inf  # type: ignore[return-value]
    hits = extras = 0
    for page in pages:
        for element in _elements(compiled, page.root):
            key = id(element)
            if key in wanted:
                hits += 1
            elif key not in all_cards:
                extras += 1
    return hits, len(wanted), extras


def card_selector(pages: Sequence[CardPage]) -> Choice | None:
    """One CSS selector (a group ``a, b`` for cards of several looks) for every card of ``pages``.

    Exact when it matches the cards and nothing else on every page; else the
    candidate that matches every card with the fewest other elements (its
    ``extras``).  None when no candidate matches every card.
    """
    cards = [element for page in pages for element in page.cards]
    if not cards:
        return None
    all_cards = {id(element) for element in cards}
    by_tag: dict[str, list[Any]] = {}
    for element in cards:
        by_tag.setdefault(_tag(element) or "", []).append(element)
    chosen: list[str] = []
    for elements in by_tag.values():
        best = _best_card_selector(elements, pages, all_cards)
        if best is None or best[1]:
            # Cards of one tag but of different looks (a main list and an "other items" strip).
            by_look: dict[tuple[str, ...], list[Any]] = {}
            for element in elements:
                by_look.setdefault(tuple(stable_classes(element)), []).append(element)
            parts = [_best_card_selector(group, pages, all_cards) for group in by_look.values()] if len(by_look) > 1 else []
            if parts and all(part is not None for part in parts):
                split = ([part[0][0] for part in parts], sum(part[1] for part in parts))  # type: ignore[index]
                if best is None or split[1] < best[1]:
                    best = split
        if best is None:
            return None
        chosen.extend(best[0])
    css = ", ".join(dict.fromkeys(chosen))
    hits, total, extras = _score_card_selector(css, pages, all_cards, all_cards)
    return Choice(css=css, hits=hits, total=total, extras=extras, pages=sum(1 for page in pages if page.cards))


def _best_card_selector(elements: Sequence[Any], pages: Sequence[CardPage],
                        all_cards: set[int]) -> tuple[list[str], int] | None:
    """([css], elements it matches that are no card) for one group of cards, or None."""
    wanted = {id(element) for element in elements}
    best: tuple[list[str], int] | None = None
    for css in _card_candidates(elements)[:MAX_CANDIDATES]:
        hits, total, extras = _score_card_selector(css, pages, wanted, all_cards)
        if hits != total:
            continue
        if extras == 0:
            return [css], 0
        if best is None or extras < best[1]:
            best = ([css], extras)
    return best


# --- values ---------------------------------------------------------------------------------


def _same(name: str, expected: Any, found: Any) -> bool:
    if expected is None or found is None:
        return expected is None and found is None
    if isinstance(expected, Price):
        return (isinstance(found, Price) and found.currency == expected.currency
                and math.isclose(found.amount, expected.amount, rel_tol=1e-9, abs_tol=1e-12))
    return str(found) == str(expected)


def _label_regexes(name: str, raw: str, expected: str) -> list[str]:
    """Regexes that read ``expected`` out of ``raw`` (a label before it, notes after a name)."""
    raw = strip_value(raw)
    regexes = []
    names = name in ("vendor", "name")
    if names:
        regexes.append(f"^{_NAME_NOTES}$")
    position = raw.rfind(expected)
    if position > 0:
        prefix = raw[:position].strip()
        if prefix and _LABEL.match(prefix):
            tail = _NAME_NOTES if names else "(.+)"
            regexes.append("^" + re.escape(prefix) + r"\s*" + tail + "$")
    return regexes


@dataclass
class Sample:
    """Where a value was read (a card element or a page's root), what it was, and from which element."""

    root: Any
    element: Any
    expected: Any
    context: NormaliseContext
    page: int = 0


def _raw_text(element: Any, attr: str | None) -> str:
    """The text a field selector reads from ``element``."""
    if attr is not None:
        return element.get(attr) or ""
    return element_text(element, "\n")


def _evaluate(choice: Choice, name: str, default_chain: tuple[str, ...], samples: Sequence[Sample],
              negatives: Sequence[Sample] = ()) -> Choice:
    selector = choice.field_selector(name, default_chain)
    hits = 0
    for sample in samples:
        try:
            found = selector.value(sample.root, sample.context)
        except Exception:  # a regex or normaliser that chokes on odd text reproduces nothing
            found = None
        hits += _same(name, sample.expected, found)
    wrong = 0
    for sample in negatives:  # cards that show no such value must not get one
        try:
            wrong += selector.value(sample.root, sample.context) is not None
        except Exception:
            continue
    return Choice(choice.css, choice.xpath, choice.attr, choice.regex, hits=hits - wrong, total=len(samples),
                  pages=len({sample.page for sample in samples}))


def _choose(name: str, default_chain: tuple[str, ...], candidates: Iterable[Choice], samples: Sequence[Sample],
            negatives: Sequence[Sample] = ()) -> Choice | None:
    """The first candidate that reproduces every sample, else the one that reproduces most (None if none)."""
    best: Choice | None = None
    seen: set[tuple[Any, ...]] = set()
    for candidate in candidates:
        key = (candidate.css, candidate.xpath, candidate.attr, candidate.regex)
        if key in seen or _compiles(candidate.css, candidate.xpath) is None:
            continue
        seen.add(key)
        if len(seen) > MAX_CANDIDATES * 3:
            break
        scored = _evaluate(candidate, name, default_chain, samples, negatives)
        if scored.hits == scored.total:
            return scored
        if scored.hits > 0 and (best is None or scored.hits > best.hits):
            best = scored
    return best


def _with_reading(name: str, sample: Sample, css: str | None, xpath: str | None) -> list[Choice]:
    """A selector with the attribute and regex that read this sample's value from its element."""
    element = sample.element
    attrs: list[str | None] = [None]
    if name == "url":
        attrs = ["href"]
    elif _tag(element) == "img":
        attrs = ["alt", "title"]
    choices = []
    for attr in attrs:
        choices.append(Choice(css=css, xpath=xpath, attr=attr))
        if name in ("title", "vendor", "name") and isinstance(sample.expected, str):
            for regex in _label_regexes(name, _raw_text(element, attr), sample.expected):
                choices.append(Choice(css=css, xpath=xpath, attr=attr, regex=regex))
    return choices


def _relative_candidates(card: Any, element: Any) -> list[tuple[str | None, str | None]]:
    """(css, xpath) selectors that find ``element`` inside ``card``, most readable first."""
    tag = _tag(element)
    if tag is None:
        return []
    if element is card:
        return [(None, "."), (tag, None)]
    path: list[Any] = []
    current = element.getparent()
    while current is not None and current is not card and len(path) < 12:
        path.append(current)
        current = current.getparent()
    if current is not card:
        return []
    own = _steps(element)
    candidates: list[tuple[str | None, str | None]] = [(step, None) for step in own + _href_steps(element)]
    for ancestor in path[:MAX_ANCESTORS]:
        for step in _steps(ancestor):
            candidates.append((f"{step} {tag}", None))
            candidates.extend((f"{step} {mine}", None) for mine in own)
    candidates.extend((step, None) for step in _attribute_steps(element))
    candidates.append((tag, None))
    tags = [_tag(node) for node in reversed(path)] + [tag]
    if None not in tags:
        candidates.append((None, "./" + "/".join(tags)))  # type: ignore[arg-type]
        positioned = []
        for node in [*reversed(path), element]:
            parent = node.getparent()
            same = [child for child in parent if isinstance(child.tag, str) and child.tag == node.tag]
            positioned.append(f"{_tag(node)}[{same.index(node) + 1}]" if len(same) > 1 else str(_tag(node)))
        candidates.append((None, "./" + "/".join(positioned)))
    return list(dict.fromkeys(candidates))


def card_field(name: str, default_chain: tuple[str, ...], samples: Sequence[Sample],
               negatives: Sequence[Sample] = ()) -> Choice | None:
    """A selector relative to the card (``Sample.root`` is the card) that gives each sample its value.

    ``negatives`` are cards that show no such value (a vendor's own page lists
    no vendor per card): the chosen selector must give them nothing.
    """
    if not samples:
        return None

    def candidates() -> Iterable[Choice]:
        # Candidates from a few cards of each look: a selector of the first card may not fit the others.
        looks: dict[tuple[Any, ...], int] = {}
        for sample in samples:
            look = (_tag(sample.root), tuple(stable_classes(sample.root)))
            looks[look] = looks.get(look, 0) + 1
            if looks[look] > 2:
                continue
            for css, xpath in _relative_candidates(sample.root, sample.element):
                yield from _with_reading(name, sample, css, xpath)

    return _choose(name, default_chain, candidates(), samples, negatives)


# --- whole pages ----------------------------------------------------------------------------


def _label_before(element: Any) -> list[str]:
    """XPaths that find ``element`` by the label printed just before it or one of its two
    nearest ancestors ("<td>Price:</td><td>$5</td>", "<b>Vendor:</b> <a>x</a>")."""
    tag = _tag(element)
    found = []
    current = element
    for _ in range(3):
        current_tag = _tag(current)
        if current_tag is None or tag is None:
            break
        previous = current.getprevious()
        while previous is not None and not isinstance(previous.tag, str):
            previous = previous.getprevious()
        if previous is not None and _tag(previous):
            label = clean_text(" ".join(previous.itertext()))
            literal = xpath_literal(label) if label and _LABEL.match(label) else None
            if literal is not None:
                path = f"//{_tag(previous)}[normalize-space(.)={literal}]/following-sibling::{current_tag}[1]"
                found.append(path if current is element else f"{path}//{tag}")
        current = current.getparent()
        if current is None:
            break
    return found


def _page_candidates(element: Any) -> list[tuple[str | None, str | None]]:
    """(css, xpath) selectors that find ``element`` on its page, most readable first."""
    tag = _tag(element)
    if tag is None:
        return []
    own = _steps(element)
    candidates: list[tuple[str | None, str | None]] = [(step, None) for step in own if "#" in step]
    candidates.extend((step, None) for step in own if "#" not in step)
    candidates.extend((step, None) for step in _href_steps(element))
    ancestor = element.getparent()
    for _ in range(MAX_ANCESTORS):
        if ancestor is None or _tag(ancestor) in (None, "body", "html"):
            break
        for step in _steps(ancestor):
            candidates.append((f"{step} {tag}", None))
            candidates.append((f"{step} > {tag}", None))
            candidates.extend((f"{step} {mine}", None) for mine in own)
        ancestor = ancestor.getparent()
    candidates.extend((step, None) for step in _attribute_steps(element))
    candidates.append((tag, None))
    candidates.extend((None, xpath) for xpath in _label_before(element))
    return list(dict.fromkeys(candidates))


def page_field(name: str, default_chain: tuple[str, ...], samples: Sequence[Sample]) -> Choice | None:
    """A selector on whole pages (``Sample.root`` is the page's root) that gives each page its value;
    several samples may share a page (the elements that print the same value)."""
    pages: dict[int, list[Sample]] = {}
    for sample in samples:
        pages.setdefault(sample.page, []).append(sample)
    one_per_page = [found[0] for found in pages.values()]

    def candidates() -> Iterable[Choice]:
        for found in pages.values():
            for sample in found[:4]:
                for css, xpath in _page_candidates(sample.element):
                    yield from _with_reading(name, sample, css, xpath)

    return _choose(name, default_chain, candidates(), one_per_page)


def locate(tree: PageTree, name: str, expected: Any, limit: int = 6) -> list[Any]:
    """The innermost visible elements of a page whose text is ``expected`` (a price: whose first
    printed price is it; a name: also "Vendor: x" or "x (21)"), at most ``limit``, in page order."""
    found: list[int] = []
    if isinstance(expected, Price):
        for index in sorted(tree.prices):
            if tree.hidden[index]:
                continue
            span = tree.prices[index][0]
            if span.currency == expected.currency and math.isclose(span.amount, expected.amount, rel_tol=1e-9):
                found.append(index)
    elif isinstance(expected, str) and expected:
        for index in range(len(tree)):
            if tree.hidden[index] or tree.small_text[index] is None:
                continue
            text = tree.small_text[index] or ""
            if text == expected or (name in ("vendor", "name") and expected in text and len(text) <= len(expected) + 40
                                    and _reads(text, expected, _label_regexes(name, text, expected))):
                found.append(index)
        # Innermost only: an element whose child says the same is a wrapper.
        inner = set(found)
        found = [index for index in found if not any(child in inner for child in tree.children(index))]
    elements = [tree.elements[index] for index in found]
    if isinstance(expected, str):
        elements.extend(element for element in _attribute_holders(tree, expected) if element not in elements)
    return elements[:limit]


def _reads(text: str, expected: str, regexes: Iterable[str]) -> bool:
    for regex in regexes:
        match = re.fullmatch(regex, text)
        if match and match.group(1) == expected:
            return True
    return False


def _attribute_holders(tree: PageTree, expected: str) -> list[Any]:
    return [tree.elements[index] for index in range(len(tree))
            if tree.tag[index] == "img" and not tree.hidden[index]
            and expected in (clean_text(tree.elements[index].get("alt")), clean_text(tree.elements[index].get("title")))][:2]


# --- markers --------------------------------------------------------------------------------


@dataclass
class MarkerPage:
    root: Any
    label: str = ""


def _present(compiled: etree.XPath, root: Any) -> bool:
    return bool(_elements(compiled, root))


def marker(positives: Sequence[MarkerPage], negatives: Sequence[MarkerPage],
           preferred: Sequence[tuple[str | None, str | None]] = ()) -> Choice | None:
    """A CSS selector present on every page of ``positives`` and on none of ``negatives``.

    ``preferred`` selectors (the type's own card or field selectors) are tried
    first, then the ids and classes of the first positive page in page order.
    ``Choice.hits``/``total`` count the pages it told apart.
    """
    if not positives:
        return None
    total = len(positives) + len(negatives)

    def candidates() -> Iterable[tuple[str | None, str | None]]:
        yield from preferred
        root = positives[0].root
        try:
            elements = root.xpath("//body//*[@id or @class]")[:MAX_MARKER_ELEMENTS]
        except (etree.XPathError, AttributeError):
            return
        steps = [_steps(element) for element in elements]
        for own in steps:  # ids first: they name a part of the page
            yield from ((step, None) for step in own if "#" in step)
        for own in steps:
            yield from ((step, None) for step in own if "#" not in step)

    seen: set[tuple[str | None, str | None]] = set()
    for css, xpath in candidates():
        if (css, xpath) in seen:
            continue
        seen.add((css, xpath))
        compiled = _compiles(css, xpath)
        if compiled is None:
            continue
        if all(_present(compiled, page.root) for page in positives) and not any(
                _present(compiled, page.root) for page in negatives):
            return Choice(css=css, xpath=xpath, hits=total, total=total, pages=len(positives))
    return None


__all__ = [
    "CardPage",
    "Choice",
    "MarkerPage",
    "Sample",
    "card_field",
    "card_selector",
    "locate",
    "marker",
    "page_field",
    "stable_classes",
    "xpath_literal",
]
