"""crawler.extractors.visibility: the two readings of a page's stylesheet, and the page tree asking it."""

from __future__ import annotations

import pytest
from parsel import Selector

from crawler.extractors.page_tree import build_page_tree, is_shown
from crawler.extractors.record_mining import mine_cards
from crawler.extractors.visibility import hiding_rules, page_hiding_rules

URL = "http://" + "b" * 56 + ".onion/category/7"


@pytest.mark.parametrize(("css", "tag", "element_id", "classes", "trap", "at_rest"), [
    # Unconditional rules hide in both readings.
    (".fud{display:none}", "p", None, "fud", True, True),
    ("#decoy{visibility:hidden}", "p", "decoy", None, True, True),
    # An ancestor test: at rest taken as met; as a trap not certain, so not hidden.
    (".card .pop{display:none}", "div", None, "pop", False, True),
    # Revealed by the reader (hover, a checked tab): hidden at rest, never a trap.
    (".pop{display:none} .card:hover .pop{display:block}", "div", None, "pop", False, True),
    (".tab{display:none} #t1:checked ~ .tab{display:block}", "p", None, "tab", False, True),
    # Attribute tests and pseudo-classes on the hiding rule hide in neither reading.
    ("a.x[href*='abc']{display:none}", "a", None, "x", False, False),
    (".fud:hover{display:none}", "p", None, "fud", False, False),
    # An unconditional showing rule as strong as the hiding one wins in both.
    (".x{display:none} .y .x{display:block}", "p", None, "x", False, False),
])
def test_traps_and_at_rest_read_one_stylesheet(css: str, tag: str, element_id: str | None, classes: str | None,
                                               trap: bool, at_rest: bool) -> None:
    def hides(rules) -> bool:  # type: ignore[no-untyped-def]
        return "hide" in rules.decide(tag, element_id, classes)

    assert (hides(hiding_rules([css])), hides(hiding_rules([css], at_rest=True))) == (trap, at_rest)


CARD = "<div class='card'{attrs}><a href='/i/{n}'>Item {n}</a><span>{n}.50 EUR</span></div>"


def page(head: str, *cards: str) -> str:
    return f"<html><head><style>{head}</style></head><body>{''.join(cards)}</body></html>"


@pytest.mark.parametrize(("css", "attrs"), [
    ("#decoy{display:none}", " id='decoy'"),              # an id rule (main's page tree read classes only)
    (".card.trap{display:none}", " class='card trap'"),     # several classes
    ("/* } */ .trap{display:none}", " class='trap'"),       # a comment with a brace
])
def test_cards_the_page_hides_by_id_or_compound_rules_are_no_cards(css: str, attrs: str) -> None:
    trap = CARD.replace("class='card'{attrs}", "{attrs}").format(attrs=attrs, n=9)
    html = page(css, CARD.format(attrs="", n=1), trap, CARD.format(attrs="", n=2))
    cards = mine_cards(build_page_tree(Selector(text=html).root), URL)
    assert [card.title for card in cards] == ["Item 1", "Item 2"]
    root = Selector(text=html).root
    [element] = root.xpath("//a[@href='/i/9']")
    assert not is_shown(element, page_hiding_rules(root, at_rest=True))


def test_page_tree_and_profile_cards_show_what_the_browser_shows_inside_hidden_parents() -> None:
    html = ("<html><body><div style='visibility:hidden'><p id='back' style='visibility:visible'>x</p>"
            "<p id='still'>y</p></div><div hidden style='display:block'><p id='shown'>z</p></div></body></html>")
    root = Selector(text=html).root
    tree = build_page_tree(root)
    hidden = {element.get("id"): tree.hidden[index] for index, element in enumerate(tree.elements) if element.get("id")}
    rules = page_hiding_rules(root, at_rest=True)
    shown = {name: is_shown(root.xpath(f"//p[@id='{name}']")[0], rules) for name in hidden}
    assert hidden == {"back": False, "still": True, "shown": False}
    assert shown == {"back": True, "still": False, "shown": True}
