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
