"""Whether a browser shows an element: inline styles, the ``hidden`` attribute and the page's own ``<style>``.

A page can carry text that its reader never sees: a wallet or onion address
in a ``display:none`` block is a scraper trap (a decoy that only a scraper
would copy).  This module decides, per element, what the browser would do;
:mod:`crawler.extractors.html_page` asks it once per element while it walks
the tree.

Public API:

* :func:`hiding_rules` ``(style_texts) -> HidingRules`` -- the rules of the
  page's ``<style>`` elements that hide (``display:none``,
  ``visibility:hidden``) or show elements.  Never raises; reads at most
  :data:`MAX_STYLE_CHARS` characters and :data:`MAX_RULES` rules.
* :class:`HidingRules` -- :meth:`HidingRules.decide` ``(tag, element_id,
  class_attribute) -> (display, visibility)`` for one element.
* :func:`inline_decision` ``(style) -> (display, visibility)`` -- the same
  for a ``style`` attribute.
* :class:`Visibility`, :data:`SHOWN`, :func:`element_visibility` ``(element,
  tag, parent, rules) -> Visibility`` -- one element's state from its
  parent's, its ``style`` and ``hidden`` attributes and the stylesheet: the
  one answer to "is this element hidden" that the page text
  (:mod:`crawler.extractors.html_page`) and the page tree
  (:mod:`crawler.extractors.page_tree`) share;
* :func:`page_hiding_rules` ``(root, at_rest=False) -> HidingRules`` -- the
  rules of the ``<style>`` elements under an lxml ``root``;
  :func:`element_shown` ``(element, rules) -> bool`` -- the same question for
  one element, with its ancestors.

Each decision is ``"hide"``, ``"show"`` or None (the property is not set).

Two readings of the same stylesheet, because two questions are asked of it:

* traps (the default): hidden means a reader can never see it, so an
  identifier there is a decoy and is never attributed.  Only rules that hide
  without a condition count (below);
* at rest (``at_rest=True``): hidden means not shown when the page is first
  drawn, what the listing cards and page structure go by -- a hover pop-up
  that repeats its card is no card.  A rule whose selector has no
  pseudo-class and no attribute test hides or shows its last compound, an
  ancestor test (``.card .popup``) taken as met; a rule with a pseudo-class
  or attribute test neither hides nor shows (``:hover`` pop-ups stay hidden,
  anti-phishing rules by href hide nothing).

What counts as hiding, and why:

* inline ``style="display:none"`` or ``visibility:hidden`` (or ``collapse``);
  an inline ``display`` wins over the stylesheet, as in a browser;
* the ``hidden`` attribute (the caller checks it; an inline ``display``
  other than ``none`` overrides it, as in a browser);
* a ``<style>`` rule whose selector is one simple compound -- ``.class``,
  ``#id``, ``tag``, ``tag.class``, ``tag#id`` or several classes -- and
  whose declarations hide.  A rule with a combinator (``.a .b``), an
  attribute test or a pseudo-class is conditional (anti-phishing CSS hides
  links by their href; ``:hover`` menus) and never hides anything here; nor
  does a rule inside an ``@media`` block other than ``screen``/``all``
  without conditions, nor inside ``@supports`` or ``@container``;
* a rule that could *show* the element (any selector whose last compound the
  element satisfies, pseudo-classes and ancestors aside, with a specificity
  at least that of the hiding rule; conditional rules included) cancels the
  stylesheet's hiding: CSS-only tabs and toggles (``.tab{display:none}``
  plus ``#t1:checked ~ .tab{display:block}``) are content a reader opens,
  not traps.

``aria-hidden`` hides nothing from the eye, so it is ignored.  External
stylesheets are never fetched.  Cost: the stylesheet is scanned once
(linear); only the selectors of rules that set ``display`` or
``visibility`` are parsed (by cssselect, the library parsel already uses);
an element costs a few set look-ups unless one of its classes, its id or its
tag appears in a hiding rule, and then a check against each rule that names
it, remembered per (tag, id, class attribute) and at most
:data:`MAX_CHECKS` per page (after that, being named by a hiding rule is
enough to be hidden).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Iterator, NamedTuple

import cssselect
from cssselect.parser import Class, CombinedSelector, Element, Hash

#: characters of ``<style>`` text read per page, in all.
MAX_STYLE_CHARS = 200_000
#: rules that set ``display`` or ``visibility`` kept per page.
MAX_RULES = 2_000
#: longest selector list parsed (a longer one is skipped).
MAX_SELECTOR_CHARS = 1_000
#: rule checks per page (an element against a rule that names it); then names alone decide.
MAX_CHECKS = 50_000
#: classes of one element looked at.
MAX_CLASSES = 64
#: decisions remembered per page, by (tag, id, class attribute).
MAX_DECISIONS = 10_000

_HIDE = "hide"
_SHOW = "show"
_STRUCTURE = re.compile(r"[{};]")
_UNCONDITIONAL_MEDIA = frozenset({"", "all", "screen", "only screen", "only all"})


@dataclass(frozen=True)
class _Compound:
    """The parts of a selector's last compound that an element must have."""

    tag: str | None
    ids: frozenset[str]
    classes: frozenset[str]

    def matches(self, tag: str, element_id: str | None, classes: frozenset[str]) -> bool:
        return (
            (self.tag is None or self.tag == tag)
            and (not self.ids or (element_id is not None and self.ids == {element_id}))
            and self.classes <= classes
        )


@dataclass(frozen=True)
class _Rule:
    compound: _Compound
    weight: tuple[bool, tuple[int, int, int]]  # (!important, specificity): the stronger rule wins


def _keys(compound: _Compound) -> list[str]:
    """The names an element must carry for ``compound`` to match: ``.class``, ``#id`` or the tag."""
    keys = [f".{name}" for name in compound.classes] + [f"#{name}" for name in compound.ids]
    if compound.tag:
        keys.append(compound.tag)
    return keys


class HidingRules:
    """The page's hiding rules and the rules that could show the same elements again.

    Rules are kept per property (``"display"``, ``"visibility"``), only the
    strongest of identical compounds, and indexed by one name each (a class,
    an id or a tag), so an element is checked against the rules that name it
    and nothing else.  Every check counts against :data:`MAX_CHECKS` per
    page; once it is spent, an element that any hiding rule names is taken as
    hidden (hiding too much costs an attribution, never a decoy's).
    """

    def __init__(self) -> None:
        self._hiding: dict[str, dict[_Compound, _Rule]] = {"display": {}, "visibility": {}}
        self._showing: dict[str, dict[_Compound, _Rule]] = {"display": {}, "visibility": {}}
        self._hiding_by_key: dict[str, dict[str, list[_Rule]]] = {}
        self._showing_by_key: dict[str, dict[str, list[_Rule]]] = {}
        # The strongest showing rule that names no class, id or tag (``:hover``, ``[href]``).
        self._showing_anything: dict[str, tuple[bool, tuple[int, int, int]] | None] = {}
        # The classes, ids and tags some hiding rule names: the cheap first test of every element.
        self._hidden_classes: set[str] = set()
        self._hidden_ids: set[str] = set()
        self._hidden_tags: set[str] = set()
        self._decisions: dict[tuple[str, str | None, str | None], tuple[str | None, str | None]] = {}
        self.checks_left = MAX_CHECKS

    def add(self, prop: str, decision: str, compound: _Compound, weight: tuple[bool, tuple[int, int, int]]) -> None:
        """Keep one rule (the stronger of two with the same compound); called while reading the CSS."""
        table = (self._hiding if decision == _HIDE else self._showing)[prop]
        kept = table.get(compound)
        if kept is None or kept.weight < weight:
            table[compound] = _Rule(compound, weight)
        if decision == _HIDE:
            self._hidden_classes.update(compound.classes)
            self._hidden_ids.update(compound.ids)
            if compound.tag:
                self._hidden_tags.add(compound.tag)
        self._hiding_by_key.clear()  # rebuilt on first use

    def _index(self) -> None:
        self._showing_anything = {}
        for prop in ("display", "visibility"):
            for source, target in ((self._hiding, self._hiding_by_key), (self._showing, self._showing_by_key)):
                by_key: dict[str, list[_Rule]] = {}
                for rule in source[prop].values():
                    keys = _keys(rule.compound)
                    if keys:
                        by_key.setdefault(keys[0], []).append(rule)
                    elif source is self._showing:
                        best = self._showing_anything.get(prop)
                        self._showing_anything[prop] = max(best, rule.weight) if best else rule.weight
                target[prop] = by_key

    def __bool__(self) -> bool:
        return bool(self._hiding["display"] or self._hiding["visibility"])

    def decide(self, tag: str, element_id: str | None, class_attribute: str | None) -> tuple[str | None, str | None]:
        """``(display, visibility)`` the stylesheet gives this element: ``"hide"`` or None each.

        None also when a rule that could show the element outweighs the
        hiding one (see the module docstring).
        """
        classes = class_attribute.split()[:MAX_CLASSES] if class_attribute else []
        if not (
            tag in self._hidden_tags
            or (element_id is not None and element_id in self._hidden_ids)
            or (classes and not self._hidden_classes.isdisjoint(classes))
        ):
            return None, None
        memo_key = (tag, element_id, class_attribute)
        decided = self._decisions.get(memo_key)
        if decided is not None:
            return decided
        if self.checks_left <= 0:
            return _HIDE, None  # out of budget: hide rather than attribute a decoy
        names = [tag, *(f"#{element_id}",) * (element_id is not None), *(f".{name}" for name in classes)]
        if not self._hiding_by_key:
            self._index()
        class_set = frozenset(classes)
        decided = (
            self._decide("display", names, tag, element_id, class_set),
            self._decide("visibility", names, tag, element_id, class_set),
        )
        if len(self._decisions) < MAX_DECISIONS:
            self._decisions[memo_key] = decided
        return decided

    def _decide(
        self, prop: str, names: list[str], tag: str, element_id: str | None, classes: frozenset[str]
    ) -> str | None:
        strongest: tuple[bool, tuple[int, int, int]] | None = None
        hiding = self._hiding_by_key[prop]
        for name in names:
            for rule in hiding.get(name, ()):
                self.checks_left -= 1
                if rule.compound.matches(tag, element_id, classes) and (strongest is None or rule.weight > strongest):
                    strongest = rule.weight
        if strongest is None:
            return None
        anything = self._showing_anything.get(prop)
        if anything is not None and anything >= strongest:
            return None
        showing = self._showing_by_key[prop]
        for name in names:
            for rule in showing.get(name, ()):
                self.checks_left -= 1
                if rule.weight >= strongest and rule.compound.matches(tag, element_id, classes):
                    return None
        return _HIDE


def _declarations(body: str) -> Iterator[tuple[str, str, bool]]:
    """(property, value, important) of each declaration, lower-cased."""
    for declaration in body.split(";"):
        name, colon, value = declaration.partition(":")
        if not colon:
            continue
        value = value.strip().lower()
        important = value.endswith("important") and "!" in value
        if important:
            value = value[: value.rindex("!")].strip()
        yield name.strip().lower(), value, important


def _property_decisions(body: str) -> dict[str, tuple[str, bool]]:
    """``{"display"|"visibility": (hide|show, important)}`` from a declaration block; the last one wins."""
    decisions: dict[str, tuple[str, bool]] = {}
    for name, value, important in _declarations(body):
        if name == "display" and value:
            decision = _HIDE if value == "none" else _SHOW
        elif name == "visibility" and value:
            decision = _HIDE if value in ("hidden", "collapse") else _SHOW
        else:
            continue
        if name in decisions and decisions[name][1] and not important:
            continue  # an earlier !important declaration wins
        decisions[name] = (decision, important)
    return decisions


def inline_decision(style: str | None) -> tuple[str | None, str | None]:
    """``(display, visibility)`` set by a ``style`` attribute: ``"hide"``, ``"show"`` or None each."""
    if not style:
        return None, None
    lowered = style.lower()
    if "display" not in lowered and "visibility" not in lowered:
        return None, None
    decisions = _property_decisions(style)
    display = decisions.get("display")
    visibility = decisions.get("visibility")
    return (display[0] if display else None), (visibility[0] if visibility else None)


def _without_comments(css: str) -> str:
    parts: list[str] = []
    position = 0
    while True:
        start = css.find("/*", position)
        if start < 0:
            parts.append(css[position:])
            return "".join(parts)
        parts.append(css[position:start])
        end = css.find("*/", start + 2)
        if end < 0:
            return "".join(parts)
        position = end + 2


def _media_applies(prelude: str) -> bool:
    """True for an ``@media`` block that applies on every screen (no width or other condition)."""
    query = prelude[len("@media"):].strip().lower()
    return not query or any(part.strip() in _UNCONDITIONAL_MEDIA for part in query.split(","))


def _style_rules(css: str) -> Iterator[tuple[str, str, bool]]:
    """(selector list, declarations, unconditional) of each style rule, in order; linear in ``css``.

    ``unconditional`` is False inside ``@media`` with conditions (or for print
    only), ``@supports`` and ``@container``; the bodies of ``@font-face``,
    ``@keyframes``, ``@page`` and other at-rules are not style rules and are
    skipped.
    """
    # Each open block: (kind, unconditional, body start, prelude); kind is "at", "skip" or "rule".
    stack: list[tuple[str, bool, int, str]] = []
    prelude_start = 0
    for match in _STRUCTURE.finditer(css):
        position = match.start()
        character = match.group()
        if character == ";":
            if not stack or stack[-1][0] != "rule":
                prelude_start = position + 1  # "@import ...;" and stray text end here
            continue
        if character == "{":
            prelude = css[prelude_start:position].strip()
            outer_unconditional = all(entry[1] for entry in stack)
            inside_skip = any(entry[0] == "skip" for entry in stack)
            if inside_skip or (stack and stack[-1][0] == "rule"):
                stack.append(("skip", outer_unconditional, position + 1, prelude))
            elif prelude.startswith("@"):
                at_name = prelude[1:].split(None, 1)[0].lower() if len(prelude) > 1 else ""
                if at_name == "media":
                    stack.append(("at", outer_unconditional and _media_applies(prelude), position + 1, prelude))
                elif at_name in ("supports", "container", "document", "scope"):
                    stack.append(("at", False, position + 1, prelude))
                elif at_name == "layer":
                    stack.append(("at", outer_unconditional, position + 1, prelude))
                else:  # @font-face, @keyframes, @page, ...: no style rules inside
                    stack.append(("skip", outer_unconditional, position + 1, prelude))
            else:
                stack.append(("rule", outer_unconditional, position + 1, prelude))
            prelude_start = position + 1
            continue
        # "}"
        prelude_start = position + 1
        if not stack:
            continue
        kind, unconditional, body_start, prelude = stack.pop()
        if kind == "rule":
            yield prelude, css[body_start:position], unconditional


def _last_compound(selector: cssselect.Selector) -> tuple[_Compound, bool] | None:
    """The last compound's tag, ids and classes, and whether the selector is one plain compound.

    None for a selector with a pseudo-element (``::before`` hides generated
    content, not the element).
    """
    if selector.pseudo_element is not None:
        return None
    node = selector.parsed_tree
    simple = True
    if isinstance(node, CombinedSelector):
        node, simple = node.subselector, False
    ids: set[str] = set()
    classes: set[str] = set()
    tag: str | None = None
    for _ in range(64):  # a compound of more than 64 parts is not worth reading
        if isinstance(node, Class):
            classes.add(node.class_name)
            node = node.selector
        elif isinstance(node, Hash):
            ids.add(node.id)
            node = node.selector
        elif isinstance(node, Element):
            tag = node.element.lower() if node.element else None
            break
        elif hasattr(node, "selector"):  # attribute tests, pseudo-classes, :not(), :is()
            simple = False
            node = node.selector
        else:
            return None
    else:
        return None
    return _Compound(tag, frozenset(ids), frozenset(classes)), simple


def _has_condition(node: Any) -> bool:
    """True when a parsed selector has a pseudo-class, an attribute test or a function anywhere."""
    for _ in range(256):
        if isinstance(node, CombinedSelector):
            if _has_condition(node.subselector):  # a compound: no deeper recursion
                return True
            node = node.selector
        elif isinstance(node, (Class, Hash)):
            node = node.selector
        elif isinstance(node, Element):
            return False
        else:
            return True
    return True


@functools.lru_cache(maxsize=4)
def _read_rules(css: str) -> tuple[tuple[_Compound, bool, bool, bool, tuple[int, int, int], tuple[tuple[str, str, bool], ...]], ...]:
    """(compound, simple, conditional, unconditional, specificity, decisions) of each selector that sets
    ``display`` or ``visibility``, at most :data:`MAX_RULES` decisions in all.

    Both readings of one page ask for the same stylesheet: it is parsed once (a few kept, by text).
    """
    read_rules = []
    kept = 0
    for selector_text, body, unconditional in _style_rules(css):
        if kept >= MAX_RULES:
            break
        lowered = body.lower()
        if "display" not in lowered and "visibility" not in lowered:
            continue
        decisions = _property_decisions(body)
        if not decisions or len(selector_text) > MAX_SELECTOR_CHARS:
            continue
        try:
            selectors = cssselect.parse(selector_text)
        except (cssselect.SelectorError, RecursionError):
            continue
        items = tuple((prop, decision, important) for prop, (decision, important) in decisions.items())
        for selector in selectors:
            read = _last_compound(selector)
            if read is None:
                continue
            compound, simple = read
            read_rules.append((compound, simple, _has_condition(selector.parsed_tree), unconditional,
                               selector.specificity(), items))
            kept += len(items)
    return tuple(read_rules)


def hiding_rules(style_texts: list[str], at_rest: bool = False) -> HidingRules:
    """The rules of the page's ``<style>`` texts that hide or show elements (see the module docstring).

    :param at_rest: read them for what the page shows when first drawn, not for traps.
    :returns: the rules; never raises.
    """
    rules = HidingRules()
    css = _without_comments("\n".join(style_texts)[:MAX_STYLE_CHARS])
    for compound, simple, conditional, unconditional, specificity, items in _read_rules(css):
        named = bool(compound.tag or compound.ids or compound.classes)
        for prop, decision, important in items:
            weight = (important, specificity)
            if at_rest:
                if conditional:
                    pass  # shown or hidden only after the reader does something
                elif decision == _SHOW:
                    rules.add(prop, _SHOW, compound, weight)
                elif unconditional and named:
                    rules.add(prop, _HIDE, compound, weight)
            elif decision == _SHOW:
                rules.add(prop, _SHOW, compound, weight)
            elif simple and unconditional and named:
                rules.add(prop, _HIDE, compound, weight)
    return rules


class Visibility(NamedTuple):
    """What an element passes on to its content: ``display:none`` (final) and ``visibility:hidden`` (a child may undo it)."""

    display_none: bool
    visibility_hidden: bool

    @property
    def hidden(self) -> bool:
        """True when the browser does not show the element."""
        return self.display_none or self.visibility_hidden


#: the state of the root's parent: everything shown.
SHOWN = Visibility(False, False)


def element_visibility(element: Any, tag: str, parent: Visibility, rules: HidingRules) -> Visibility:
    """The state of ``element`` (an lxml element whose lower-case tag is ``tag``) inside ``parent``.

    An inline ``display``/``visibility`` wins over the stylesheet's, the
    ``hidden`` attribute hides unless an inline or stylesheet ``display`` is
    set, ``display:none`` is inherited for good and ``visibility`` until a
    descendant sets it again.  Never raises.
    """
    if parent.display_none:
        return parent
    display, visibility = inline_decision(element.get("style"))
    if rules:
        sheet_display, sheet_visibility = rules.decide(tag, element.get("id"), element.get("class"))
        display = display or sheet_display
        visibility = visibility or sheet_visibility
    if display is None and element.get("hidden") is not None:
        display = _HIDE
    visibility_hidden = parent.visibility_hidden if visibility is None else visibility == _HIDE
    if display != _HIDE and visibility_hidden == parent.visibility_hidden:
        return parent
    return Visibility(display == _HIDE, visibility_hidden)


def page_hiding_rules(root: Any, at_rest: bool = False) -> HidingRules:
    """:func:`hiding_rules` of the ``<style>`` elements under the lxml element ``root`` (the first 50)."""
    try:
        styles = [text for text in root.xpath("//style/text()")[:50] if isinstance(text, str)]
    except Exception:  # lxml raises odd errors on broken trees; no style rules then
        styles = []
    return hiding_rules(styles, at_rest=at_rest)


def element_shown(element: Any, rules: HidingRules, max_ancestors: int = 256) -> bool:
    """False when the browser hides ``element`` by ``rules``, inline styles or the ``hidden`` attribute, itself or through an ancestor."""
    chain: list[Any] = []
    current = element
    while current is not None and len(chain) < max_ancestors:
        chain.append(current)
        current = current.getparent()
    state = SHOWN
    for node in reversed(chain):
        if isinstance(node.tag, str):
            state = element_visibility(node, node.tag.lower(), state, rules)
    return not state.hidden
