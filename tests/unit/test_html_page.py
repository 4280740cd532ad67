from __future__ import annotations

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
