from __future__ import annotations

from pathlib import Path

import pytest

from crawler.extractors.html_page import parse_html_page

BASE = "http://" + "b" * 56 + ".onion/shop/"
OTHER = "http://" + "c" * 56 + ".onion/"


def test_title_text_and_links() -> None:
    html = f"""<html><head><title> Shop &amp; more </title><style>.x{{color:red}}</style></head>
    <body><h1>Welcome</h1><script>var secret = 1;</script><noscript>enable js</noscript>
    <p>Buy <b>now</b></p><a href="item/1#reviews">one</a><a href="item/1">again</a>
    <a href="{OTHER}forum">forum</a><a href="javascript:alert(1)">x</a>
    <a href="bitcoin:bc1qexample">pay</a><a href="mailto:a@b.c">mail</a></body></html>"""
    page = parse_html_page(html, BASE)
    assert page.title == "Shop & more"
    assert "Welcome" in page.text and "Buy now" in page.text
    assert "secret" not in page.text and "enable js" not in page.text and "color" not in page.text
    assert page.links == [BASE + "item/1", OTHER + "forum"]
    assert page.onion_links == page.links
    assert "bitcoin:bc1qexample" in page.hrefs


def test_caps_hostile_sizes() -> None:
    html = "<html><body>" + "word " * 100_000 + "".join(f'<a href="/p{i}">x</a>' for i in range(300)) + "</body></html>"
    page = parse_html_page(html, BASE, max_text_chars=1000, max_links=100)
    assert len(page.text) == 1000
    assert len(page.links) == 100


def test_malformed_html_and_bytes_do_not_raise() -> None:
    page = parse_html_page(b"<html><title>t</title><body><p>unclosed <a href='/x'>x\xff\xfe", BASE)
    assert page.title == "t"
    assert page.links == ["http://" + "b" * 56 + ".onion/x"]


def test_empty_document() -> None:
    page = parse_html_page("", BASE)
    assert page.title == "" and page.text == "" and page.links == []


def test_links_to_other_schemes_are_dropped_and_counted() -> None:
    html = """<a href="javascript:alert(document.domain)">a</a><a href="data:text/html,<b>x</b>">b</a>
    <a href="FILE:///etc/passwd">c</a><a href="mailto:a@b.c">d</a><a href="/ok">e</a><a href="#top">f</a>"""
    page = parse_html_page(html, BASE)
    assert page.links == [BASE.replace("/shop/", "/ok"), BASE]
    assert page.other_scheme_links == 4


def test_a_10_mb_single_line_is_read_only_up_to_the_cap(monkeypatch) -> None:
    import re

    from crawler.extractors import html_page

    line = "<html><body><p>first words " + "lorem  ipsum\tdolor\n sit amet " * 400_000 + "</p></body></html>"
    expected = html_page._clean(line[len("<html><body><p>"):])[:200_000]
    read: list[int] = []

    class CountingPattern:
        def sub(self, replacement: str, text: str) -> str:
            read.append(len(text))
            return re.sub(r"\s+", replacement, text)

    monkeypatch.setattr(html_page, "_WHITESPACE", CountingPattern())
    page = parse_html_page(line, BASE, max_text_chars=200_000)
    assert page.text == expected
    # The whole 12 MB line went through the whitespace regex (seconds on a busy machine, over the
    # extraction budget) to keep 200,000 characters; now only slices up to the cap do.
    assert sum(read) < 1_000_000, sum(read)


# --- text the browser does not show (scraper traps) --------------------------------------------

REAL_PAGES = Path(__file__).resolve().parents[1] / "data" / "real" / "pages"


def hidden_and_shown(body: str, head: str = "") -> tuple[str, str]:
    page = parse_html_page(f"<html><head>{head}</head><body>{body}</body></html>", BASE)
    return page.text, page.hidden_text


@pytest.mark.parametrize("trap", [
    '<div style="display:none">TRAP</div>',
    '<div style="DISPLAY : None !important; color: red">TRAP</div>',
    '<span style="visibility:hidden">TRAP</span>',
    '<p style="visibility: collapse">TRAP</p>',
    "<div hidden>TRAP</div>",
    '<div hidden="until-found"><b>TRAP</b></div>',
    '<div style="display:none"><p>outer <span style="display:block">TRAP</span></p></div>',
])
def test_inline_hidden_elements_are_kept_apart(trap: str) -> None:
    text, hidden = hidden_and_shown(f"<p>before</p>{trap}<p>after</p>")
    assert text == "before after"
    assert "TRAP" in hidden


@pytest.mark.parametrize(("css", "element"), [
    (".fud{display:none}", '<div class="card fud">TRAP</div>'),
    ("#decoy { visibility: hidden }", '<p id="decoy">TRAP</p>'),
    ("span.x{display:none}", '<span class="x">TRAP</span>'),
    ("div#a.b.c{display:none}", '<div id="a" class="c b d">TRAP</div>'),
    ("/* {display:block} */ .fud{color:red;display:none}", '<p class="fud">TRAP</p>'),
    ("@media screen { .fud{display:none} }", '<p class="fud">TRAP</p>'),
    (".dark\\.fail{display:none}", '<p class="dark.fail">TRAP</p>'),
])
def test_classes_ids_and_tags_that_the_pages_own_style_hides(css: str, element: str) -> None:
    text, hidden = hidden_and_shown(f"<p>shown</p>{element}", f"<style>{css}</style>")
    assert (text, hidden) == ("shown", "TRAP")


@pytest.mark.parametrize(("css", "element"), [
    # aria-hidden hides nothing from the eye.
    ("", '<p aria-hidden="true">SHOWN</p>'),
    # Conditional rules: combinators, attribute tests, pseudo-classes, media queries, print.
    (".card .fud{display:none}", '<div class="card"><p class="fud">SHOWN</p></div>'),
    ('a.x[href*="abc"]{display:none}', '<a class="x" href="/abc">SHOWN</a>'),
    (".fud:hover{display:none}", '<p class="fud">SHOWN</p>'),
    ("@media (max-width: 600px) { .fud{display:none} }", '<p class="fud">SHOWN</p>'),
    ("@media print { .fud{display:none} }", '<p class="fud">SHOWN</p>'),
    (".fud::before{display:none}", '<p class="fud">SHOWN</p>'),
    # Only the element's own classes count.
    (".fud{display:none}", '<p class="fudge">SHOWN</p>'),
    # A CSS-only tab: hidden until the reader picks it, so it is content, not a trap.
    (".tab{display:none} #t1:checked ~ .tab{display:block}", '<p class="tab">SHOWN</p>'),
    # Inline display wins over the stylesheet, and visibility can be turned back on inside.
    (".fud{display:none}", '<p class="fud" style="display:block">SHOWN</p>'),
    ("", '<div style="visibility:hidden"><p style="visibility:visible">SHOWN</p></div>'),
    ("", '<div hidden style="display:block">SHOWN</div>'),
    # @font-face and @keyframes bodies are not style rules.
    ("@keyframes fade { from {display:none} }", '<p class="from">SHOWN</p>'),
])
def test_what_the_browser_still_shows(css: str, element: str) -> None:
    text, hidden = hidden_and_shown(element, f"<style>{css}</style>" if css else "")
    assert (text, hidden) == ("SHOWN", "")


def test_hrefs_of_hidden_links_are_kept_apart_and_links_unchanged() -> None:
    html = (f'<html><body><a href="bitcoin:shown">pay</a><div style="display:none">'
            f'<a href="bitcoin:trap">x</a><a href="{OTHER}hidden">y</a></div></body></html>')
    page = parse_html_page(html, BASE)
    assert page.hrefs == ["bitcoin:shown"]
    assert page.hidden_hrefs == ["bitcoin:trap", OTHER + "hidden"]
    assert page.links == [OTHER + "hidden"]


def test_text_after_comments_and_hidden_elements_is_read_in_order() -> None:
    text, hidden = hidden_and_shown('one<!-- c -->two<span style="display:none">x</span>three<?pi?>four')
    assert (text, hidden) == ("one two three four", "x")


def test_the_walk_is_bounded() -> None:
    from crawler.extractors import html_page

    html = "<html><body>" + "<b>w</b>" * (html_page.MAX_ELEMENTS + 10) + "</body></html>"
    page = parse_html_page(html, BASE, max_text_chars=10 * html_page.MAX_ELEMENTS)
    # html and body count among the elements read.
    assert page.text.count("w") == html_page.MAX_ELEMENTS - 2


def test_dark_fail_hides_decoy_onions_from_scrapers() -> None:
    """dark.fail (development corpus) lists Facebook's and the Tor Project's old onions under its
    Empire entry inside `.fud{display:none}`: decoys that only a scraper would copy.  Both sites
    are also listed under their own names further down, visibly."""
    page = parse_html_page((REAL_PAGES / "darkfail" / "other-1.html").read_bytes(), "https://dark.fail/")
    assert page.hidden_text.startswith("http://facebookcorewwwi.onion http://expyuzz4wqqyqhjn.onion")
    empire = page.text[page.text.index("Empire Market") :]
    assert empire.startswith("Empire Market http://6qxqsnzfdphifebg.onion")  # its own mirror, no decoy
    assert page.text.count("facebookcorewwwi.onion") == 1 and page.text.count("expyuzz4wqqyqhjn.onion") == 1


def test_past_the_check_budget_an_element_named_by_a_hiding_rule_is_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    from crawler.extractors import visibility

    css = "<style>.tab{display:none} .tab:target{display:block}</style>"
    assert hidden_and_shown('<p class="tab">x</p>', css) == ("x", "")
    monkeypatch.setattr(visibility, "MAX_CHECKS", 0)
    # Hiding too much costs an attribution; showing too much would attribute a decoy.
    assert hidden_and_shown('<p class="tab">x</p><p class="other">y</p>', css) == ("y", "x")


@pytest.mark.parametrize("base", ["http://a.onion/shop", "http://a.onion", "HTTP://A.onion:80/x/y?z#f",
                                  "https://u:p@h.onion/a;b?c", "ftp://x/y", "http:///x", "http://a.onion/x/../y/"])
def test_root_relative_links_joined_without_urljoin_match_it(base: str) -> None:
    """The shortcut for "/path?query" hrefs gives what urljoin gives, dot segments, doubled slashes,
    ";" parameters, empty queries and fragments included (those take urljoin's way)."""
    from crawler.extractors.html_page import _absolute, _Resolver

    resolve = _Resolver(base)
    for href in ["/", "/item/12", "/item/12?page=2&x=y", "/a//b", "/a/./b", "/a/../b", "/a/.", "/a/..", "/a;p",
                 "/a;p?q", "/a?", "/a?#", "/a#x", "/a?b;c", "/a?b#c", "//h/x", "/A:b", "/%2e%2e/x", "/a?x=/..",
                 "/a/b/", "/ab\t", "/~u", "/a?b?c", "/.x", "/a.b/c.d", "/ä", "item/3", "?q=1", " /a"]:
        assert resolve(href) == _absolute(base, href), href
